//! Prompt templates, one versioned file per recipe (`services/worker/prompts/`), after
//! Google's MedGemma notebooks: the radiologist persona as the system turn, the instruction,
//! the images in order (CT and MR slices each followed by "SLICE n"), then what to write.
//! A template's id and the SHA-256 of its file go into every draft's provenance, so a draft
//! names the exact words that produced it. A deployment may keep its own set in a folder.

use std::path::{Path, PathBuf};

use ndarray::Array3;
use radraft_imaging::Recipe;
use radraft_medgemma::{Part, Request};
use sha2::{Digest, Sha256};

/// The built-in templates, compiled in so a worker binary always has them.
const BUILTIN: [(&str, &str); 3] = [
    (
        "cxr-report.v1.txt",
        include_str!("../prompts/cxr-report.v1.txt"),
    ),
    (
        "ct-report.v1.txt",
        include_str!("../prompts/ct-report.v1.txt"),
    ),
    (
        "mr-report.v1.txt",
        include_str!("../prompts/mr-report.v1.txt"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("reading prompt template {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("prompt template {id}: {problem}")]
    Invalid { id: String, problem: String },
}

/// One recipe's prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTemplate {
    /// File name without `.txt`, e.g. `ct-report.v1`.
    pub id: String,
    /// SHA-256 of the template file, hex.
    pub sha256: String,
    pub system: String,
    before_images: String,
    each_image: String,
    after_images: String,
}

impl PromptTemplate {
    /// Parses a template: `#` comment lines, then `[system]`, `[before_images]`,
    /// `[each_image]` and `[after_images]` sections, in any order, each at most once.
    pub fn parse(id: &str, text: &str) -> Result<Self, TemplateError> {
        let invalid = |problem: String| TemplateError::Invalid {
            id: id.to_owned(),
            problem,
        };
        let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(name) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                if sections.iter().any(|(n, _)| n == name) {
                    return Err(invalid(format!("section [{name}] appears twice")));
                }
                sections.push((name.to_owned(), Vec::new()));
            } else if trimmed.starts_with('#') && sections.is_empty() {
                continue;
            } else if let Some((_, lines)) = sections.last_mut() {
                lines.push(line);
            } else if !trimmed.is_empty() {
                return Err(invalid(format!(
                    "text before the first section: {trimmed:?}"
                )));
            }
        }
        let mut take = |name: &str| -> Result<String, TemplateError> {
            let at = sections
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| invalid(format!("section [{name}] is missing")))?;
            let (_, lines) = sections.remove(at);
            Ok(lines.join("\n").trim().to_owned())
        };
        let template = PromptTemplate {
            id: id.to_owned(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
            system: take("system")?,
            before_images: take("before_images")?,
            each_image: take("each_image")?,
            after_images: take("after_images")?,
        };
        if let Some((name, _)) = sections.first() {
            return Err(invalid(format!("unknown section [{name}]")));
        }
        Ok(template)
    }

    /// The same template with its instructions replaced by `instruction` (the command line's
    /// `--prompt`); its id and hash then name the instruction, not the file.
    pub fn with_instruction(&self, instruction: &str) -> Self {
        PromptTemplate {
            id: format!("{}+custom", self.id),
            sha256: hex::encode(Sha256::digest(instruction.as_bytes())),
            before_images: instruction.to_owned(),
            after_images: String::new(),
            ..self.clone()
        }
    }

    /// The drafting request: instruction, the images with their labels, what to write.
    pub fn request(&self, images: Vec<Array3<f32>>, max_new_tokens: usize) -> Request {
        let count = images.len();
        let mut parts = self.image_parts(images);
        if !self.after_images.is_empty() {
            parts.push(Part::Text(self.after_images.clone()));
        }
        Request {
            system: Some(self.system.clone()),
            parts: self.with_intro(count, parts),
            max_new_tokens,
        }
    }

    /// A yes/no question about the same images, labelled the same way (triage).
    pub fn question(&self, images: Vec<Array3<f32>>, question: &str) -> Request {
        let count = images.len();
        let mut parts = self.image_parts(images);
        parts.push(Part::Text(question.to_owned()));
        Request {
            system: Some(self.system.clone()),
            parts: self.with_intro(count, parts),
            max_new_tokens: 1,
        }
    }

    fn with_intro(&self, count: usize, rest: Vec<Part>) -> Vec<Part> {
        let intro = self.before_images.replace("{images}", &count.to_string());
        std::iter::once(Part::Text(intro)).chain(rest).collect()
    }

    fn image_parts(&self, images: Vec<Array3<f32>>) -> Vec<Part> {
        let mut parts = Vec::with_capacity(images.len() * 2);
        for (i, image) in images.into_iter().enumerate() {
            parts.push(Part::Image(image));
            if !self.each_image.is_empty() {
                let label = self.each_image.replace("{n}", &(i + 1).to_string());
                parts.push(Part::Text(label));
            }
        }
        parts
    }
}

/// A template per recipe.
#[derive(Debug, Clone)]
pub struct Templates {
    projection: PromptTemplate,
    ct: PromptTemplate,
    mr: PromptTemplate,
}

impl Templates {
    /// The templates in `services/worker/prompts/`, compiled in.
    pub fn builtin() -> Result<Self, TemplateError> {
        let [cxr, ct, mr] = BUILTIN.map(|(name, text)| PromptTemplate::parse(stem(name), text));
        Ok(Templates {
            projection: cxr?,
            ct: ct?,
            mr: mr?,
        })
    }

    /// A deployment's own set: the same three file names in `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, TemplateError> {
        let [cxr, ct, mr] = BUILTIN.map(|(name, _)| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|source| TemplateError::Read {
                    path: path.clone(),
                    source,
                })
                .and_then(|text| PromptTemplate::parse(stem(name), &text))
        });
        Ok(Templates {
            projection: cxr?,
            ct: ct?,
            mr: mr?,
        })
    }

    pub fn for_recipe(&self, recipe: Recipe) -> &PromptTemplate {
        match recipe {
            Recipe::Projection => &self.projection,
            Recipe::Ct => &self.ct,
            Recipe::Mr => &self.mr,
        }
    }
}

fn stem(file_name: &str) -> &str {
    file_name.strip_suffix(".txt").unwrap_or(file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(request: &Request) -> Vec<String> {
        request
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Image(_) => "<image>".to_owned(),
            })
            .collect()
    }

    #[test]
    fn builtin_templates_parse_and_label_ct_slices_after_each_image() {
        let templates = Templates::builtin().unwrap();
        let ct = templates.for_recipe(Recipe::Ct);
        assert_eq!(ct.id, "ct-report.v1");
        assert_eq!(ct.sha256.len(), 64);
        let images = vec![Array3::zeros((3, 2, 2)), Array3::zeros((3, 2, 2))];
        let request = ct.request(images, 10);
        let parts = texts(&request);
        assert!(parts[0].contains("these 2 axial CT slices"), "{parts:?}");
        assert_eq!(&parts[1..5], ["<image>", "SLICE 1", "<image>", "SLICE 2"]);
        assert!(parts[5].contains("Findings:"));
        assert_eq!(
            request.system.as_deref(),
            Some("You are an expert radiologist.")
        );

        let cxr = templates.for_recipe(Recipe::Projection);
        let parts = texts(&cxr.question(vec![Array3::zeros((3, 2, 2))], "Pneumothorax?"));
        assert_eq!(parts, ["Describe this X-ray.", "<image>", "Pneumothorax?"]);
    }

    #[test]
    fn hash_follows_the_file_and_bad_templates_say_why() {
        let text = "[system]\nS\n[before_images]\nB\n[each_image]\n[after_images]\nA\n";
        let a = PromptTemplate::parse("t.v1", text).unwrap();
        let b = PromptTemplate::parse("t.v1", &text.replace('A', "A2")).unwrap();
        assert_ne!(a.sha256, b.sha256);
        let err = PromptTemplate::parse("t.v1", "[system]\nS\n").unwrap_err();
        assert!(
            err.to_string().contains("[before_images] is missing"),
            "{err}"
        );
        let err = PromptTemplate::parse("t.v1", &format!("{text}[extra]\nx\n")).unwrap_err();
        assert!(err.to_string().contains("unknown section [extra]"), "{err}");
        let err = PromptTemplate::parse("t.v1", "stray\n[system]\n").unwrap_err();
        assert!(
            err.to_string().contains("before the first section"),
            "{err}"
        );
    }

    #[test]
    fn a_deployment_folder_replaces_the_builtin_set() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in BUILTIN {
            std::fs::write(
                dir.path().join(name),
                text.replace("an expert", "a careful"),
            )
            .unwrap();
        }
        let own = Templates::load_dir(dir.path()).unwrap();
        assert_eq!(
            own.for_recipe(Recipe::Mr).system,
            "You are a careful radiologist."
        );
        std::fs::remove_file(dir.path().join("mr-report.v1.txt")).unwrap();
        assert!(matches!(
            Templates::load_dir(dir.path()),
            Err(TemplateError::Read { .. })
        ));
    }
}
