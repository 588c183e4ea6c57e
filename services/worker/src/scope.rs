//! The scope gate: which modalities and body parts this deployment drafts. A study outside
//! it is recorded as out of scope (neither drafted nor failed), so the worklist says why no
//! draft will come.

use std::collections::BTreeSet;
use std::str::FromStr;

use radraft_imaging::Instance;

/// An allow-list of upper-case codes, or any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    Any,
    Only(BTreeSet<String>),
}

impl Allowed {
    fn allows(&self, code: &str) -> bool {
        match self {
            Allowed::Any => true,
            Allowed::Only(codes) => codes.contains(code),
        }
    }
}

impl FromStr for Allowed {
    type Err = String;
    /// `*` for any, else a comma-separated list (`CR,DX,CT`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "*" {
            return Ok(Allowed::Any);
        }
        let codes: BTreeSet<String> = s
            .split(',')
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        if codes.is_empty() {
            return Err("an empty list would refuse every study; use * for any".to_owned());
        }
        Ok(Allowed::Only(codes))
    }
}

/// What a deployment drafts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub modalities: Allowed,
    /// Body Part Examined codes; objects without one pass only when this is `Any`.
    pub body_parts: Allowed,
}

impl Default for Scope {
    /// The modalities the imaging recipes are made for, any body part.
    fn default() -> Self {
        Scope {
            modalities: Allowed::Only(["CR", "DX", "CT", "MR"].map(String::from).into()),
            body_parts: Allowed::Any,
        }
    }
}

impl Scope {
    /// `None` when at least one object is in scope (the others are left to imaging's
    /// selection), else why the study is out of scope.
    pub fn check(&self, instances: &[Instance]) -> Option<String> {
        if instances
            .iter()
            .any(|i| self.modalities.allows(&i.modality) && self.body_parts.allows(&i.body_part))
        {
            return None;
        }
        let seen = |f: fn(&Instance) -> &str| {
            let codes: BTreeSet<&str> = instances.iter().map(f).collect();
            codes
                .into_iter()
                .map(|c| if c.is_empty() { "(none)" } else { c })
                .collect::<Vec<_>>()
                .join(",")
        };
        Some(format!(
            "no object in scope: modalities {} and body parts {} are not among those drafted",
            seen(|i| i.modality.as_str()),
            seen(|i| i.body_part.as_str())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse() {
        assert_eq!("*".parse::<Allowed>(), Ok(Allowed::Any));
        let only: Allowed = " dx, CR ,".parse().unwrap();
        assert!(only.allows("DX") && only.allows("CR") && !only.allows("CT"));
        assert!(",".parse::<Allowed>().is_err());
    }
}
