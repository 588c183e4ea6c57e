//! Reading a service's settings from `PREFIX` + `KEY` variables (the map is passed in, so
//! this does no IO): each value parsed to its type, every problem collected, so a service
//! reports all of them at once at start-up instead of one per restart.

use std::collections::HashMap;
use std::str::FromStr;

#[derive(Debug)]
pub struct Settings {
    prefix: &'static str,
    vars: HashMap<String, String>,
    problems: Vec<String>,
}

impl Settings {
    pub fn new(prefix: &'static str, vars: HashMap<String, String>) -> Self {
        Settings {
            prefix,
            vars,
            problems: Vec::new(),
        }
    }

    /// The full variable name of `key`.
    pub fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The value of `PREFIX` + `key`, parsed; a value that does not parse is a problem.
    pub fn optional<T: FromStr>(&mut self, key: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let name = self.name(key);
        let raw = self.vars.get(&name)?;
        match raw.parse() {
            Ok(value) => Some(value),
            Err(e) => {
                self.problems.push(format!("{name}={raw:?}: {e}"));
                None
            }
        }
    }

    pub fn get<T: FromStr>(&mut self, key: &str, default: T) -> T
    where
        T::Err: std::fmt::Display,
    {
        self.optional(key).unwrap_or(default)
    }

    /// Connection URLs may also come from the conventional unprefixed variable.
    pub fn get_or_global(&mut self, key: &str, default: &str) -> String {
        let global = self.vars.get(key).cloned();
        self.optional(key)
            .or(global)
            .unwrap_or_else(|| default.to_owned())
    }

    /// Records a problem found while validating the values.
    pub fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Every problem found, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), Vec<String>> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self.problems)
        }
    }
}

/// Checks that `url` starts with one of `schemes` followed by `://`.
pub fn check_scheme(url: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|s| url.starts_with(&format!("{s}://")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem_and_falls_back_to_globals() {
        let vars = HashMap::from([
            ("P_A".to_owned(), "x".to_owned()),
            ("P_B".to_owned(), "7".to_owned()),
            ("URL".to_owned(), "amqp://h".to_owned()),
        ]);
        let mut s = Settings::new("P_", vars);
        assert_eq!(s.get("A", 1u32), 1);
        assert_eq!(s.get("B", 1u32), 7);
        assert_eq!(s.get_or_global("URL", "d"), "amqp://h");
        s.problem("other".into());
        let problems = s.finish().unwrap_err();
        assert_eq!(problems.len(), 2);
        assert!(problems[0].starts_with("P_A=\"x\""));
        assert!(check_scheme("amqps://x", &["amqp", "amqps"]));
        assert!(!check_scheme("http://x", &["amqp"]));
    }
}
