//! The generated text split into Findings and Impression, the two sections a radiologist
//! reviews. Models write headings in many ways ("FINDINGS:", "**Findings:**", "## Impression",
//! "Impression -"); a text with no recognisable heading is kept whole, never failed.

/// A draft's sections; `None` where the text has no such heading.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sections {
    pub findings: Option<String>,
    pub impression: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heading {
    Findings,
    Impression,
}

/// Splits `text` at its Findings and Impression headings. Text before the first heading
/// belongs to no section (it stays in the raw text).
pub fn split(text: &str) -> Sections {
    let mut sections = Sections::default();
    let mut current: Option<(Heading, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some((heading, rest)) = heading(line) {
            if let Some((h, lines)) = current.take() {
                store(&mut sections, h, &lines);
            }
            current = Some((heading, vec![rest]));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((h, lines)) = current {
        store(&mut sections, h, &lines);
    }
    sections
}

fn store(sections: &mut Sections, heading: Heading, lines: &[&str]) {
    let body = lines.join("\n").trim().to_owned();
    let slot = match heading {
        Heading::Findings => &mut sections.findings,
        Heading::Impression => &mut sections.impression,
    };
    // A repeated heading continues its section rather than replacing it.
    match slot {
        Some(existing) if !body.is_empty() => {
            existing.push('\n');
            existing.push_str(&body);
        }
        Some(_) => {}
        None => *slot = Some(body),
    }
}

/// Recognises a heading line and returns the text on the same line after it.
fn heading(line: &str) -> Option<(Heading, &str)> {
    let decoration = |c: char| c == '#' || c == '*' || c == '_' || c.is_whitespace();
    let bare = line.trim_start_matches(decoration);
    for (word, heading) in [
        ("findings", Heading::Findings),
        ("impressions", Heading::Impression),
        ("impression", Heading::Impression),
    ] {
        let Some(head) = bare.get(..word.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(word) {
            continue;
        }
        let after = &bare[word.len()..];
        let after = after.trim_start_matches(['*', '_']);
        // A heading is the word alone on its line, or followed by ':' or '-'; "Findings are
        // normal" is a sentence, not a heading.
        if after.trim().trim_end_matches(['*', '_']).is_empty() {
            return Some((heading, ""));
        }
        if let Some(rest) = after.trim_start().strip_prefix([':', '-', '\u{2013}']) {
            return Some((heading, rest.trim_start_matches(['*', '_']).trim()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_headings() {
        let s = split("FINDINGS: Clear lungs.\nNo effusion.\nIMPRESSION: Normal chest.");
        assert_eq!(s.findings.as_deref(), Some("Clear lungs.\nNo effusion."));
        assert_eq!(s.impression.as_deref(), Some("Normal chest."));
    }

    #[test]
    fn markdown_headings_and_text_before_them() {
        let text = "Here is the report.\n\n**Findings:**\n* Small left effusion.\n\n## Impression\n1. Effusion.";
        let s = split(text);
        assert_eq!(s.findings.as_deref(), Some("* Small left effusion."));
        assert_eq!(s.impression.as_deref(), Some("1. Effusion."));
    }

    #[test]
    fn sentences_are_not_headings_and_text_without_headings_has_no_sections() {
        assert_eq!(
            split("Findings are within normal limits."),
            Sections::default()
        );
        assert_eq!(
            split("gibberish tokens without structure"),
            Sections::default()
        );
        assert_eq!(split(""), Sections::default());
    }

    #[test]
    fn impression_only_and_dash_separator() {
        let s = split("Impressions - no acute disease");
        assert_eq!(s.findings, None);
        assert_eq!(s.impression.as_deref(), Some("no acute disease"));
    }

    #[test]
    fn repeated_heading_continues_the_section() {
        let s = split("Findings: a\nImpression: b\nFindings: c");
        assert_eq!(s.findings.as_deref(), Some("a\nc"));
    }

    #[test]
    fn multibyte_text_is_safe() {
        let s = split("Fïndings: é\nImpréssion");
        assert_eq!(s, Sections::default());
    }
}
