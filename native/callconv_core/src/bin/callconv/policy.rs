//! `--strict` and `--ignore` for the command-line tool, with the meaning `Callconv.Policy`
//! gives them on the Elixir side: an ignored rule's findings are dropped (everywhere, or for
//! libraries whose path ends in a glob), and with `strict` a warning fails.

use callconv::report::{LibraryReport, Verdict};
use callconv::rules::Severity;

/// One `--ignore`: a rule id, limited to paths ending in `glob` when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignore {
    rule: String,
    glob: Option<String>,
}

/// Parses `RULE` or `RULE:GLOB`; the rule must be one the catalogue knows.
pub fn parse_ignore(entry: &str) -> Result<Ignore, String> {
    let (rule, glob) = match entry.split_once(':') {
        Some((rule, glob)) if !glob.is_empty() => (rule, Some(glob.to_string())),
        Some((rule, _)) => (rule, None),
        None => (entry, None),
    };
    if callconv::rules::by_id(rule).is_none() {
        return Err(format!(
            "unknown rule {rule:?} (docs/reference/rules.md lists them)"
        ));
    }
    Ok(Ignore {
        rule: rule.to_string(),
        glob,
    })
}

pub struct Policy {
    strict: bool,
    ignore: Vec<Ignore>,
}

impl Policy {
    pub fn new(strict: bool, ignore: Vec<Ignore>) -> Result<Policy, String> {
        Ok(Policy { strict, ignore })
    }

    /// Drops the ignored findings of `lib`, recomputes its verdict and returns how many
    /// findings were dropped.
    pub fn apply(&self, lib: &mut LibraryReport) -> usize {
        let before = lib.findings.len();
        let path = lib.path.clone();
        lib.findings.retain(|f| !self.ignored(&f.rule, &path));
        let errors = lib.findings.iter().any(|f| f.severity == Severity::Error);
        let warnings = lib.findings.iter().any(|f| f.severity == Severity::Warning);
        lib.verdict = match (errors, warnings) {
            (true, _) => Verdict::Fail,
            (false, true) if self.strict => Verdict::Fail,
            (false, true) => Verdict::Warn,
            (false, false) => Verdict::Pass,
        };
        before - lib.findings.len()
    }

    fn ignored(&self, rule: &str, path: &str) -> bool {
        self.ignore.iter().any(|i| {
            i.rule == rule
                && i.glob
                    .as_deref()
                    .is_none_or(|glob| ends_with_glob(path, glob))
        })
    }
}

/// Whether `path` ends in `glob` at a component boundary: `*` matches within one component,
/// `**` across components, `?` one character other than `/`. A leading `./` is dropped.
pub fn ends_with_glob(path: &str, glob: &str) -> bool {
    let glob: Vec<char> = glob.trim_start_matches("./").chars().collect();
    let path: Vec<char> = path.chars().collect();
    (0..=path.len())
        .filter(|&start| start == 0 || path[start - 1] == '/')
        .any(|start| matches(&glob, &path[start..]))
}

/// Whole-string glob match by dynamic programming: O(glob × path), no backtracking.
fn matches(glob: &[char], text: &[char]) -> bool {
    // reach[j]: the glob prefix read so far matches text[..j].
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    let mut g = 0;
    while g < glob.len() {
        let mut next = vec![false; text.len() + 1];
        if glob[g] == '*' {
            let across = glob.get(g + 1) == Some(&'*');
            // A run of stars matches any run of characters (across `/` only for `**`).
            let mut open = false;
            for j in 0..=text.len() {
                if reach[j] {
                    open = true;
                } else if j > 0 && !across && text[j - 1] == '/' {
                    open = false;
                }
                next[j] = open;
            }
            g += if across { 2 } else { 1 };
        } else {
            for j in 1..=text.len() {
                let c = text[j - 1];
                next[j] = reach[j - 1]
                    && if glob[g] == '?' {
                        c != '/'
                    } else {
                        c == glob[g]
                    };
            }
            g += 1;
        }
        reach = next;
    }
    reach[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_the_end_of_the_path_like_the_elixir_policy() {
        assert!(ends_with_glob("/p/priv/libx.so", "libx.so"));
        assert!(ends_with_glob("/p/priv/libx.so", "priv/*.so"));
        assert!(!ends_with_glob("/p/priv/native/libx.so", "priv/*.so"));
        assert!(ends_with_glob("/p/deps/a/priv/libx.so", "deps/**"));
        assert!(ends_with_glob("/p/priv/libx.so", "./priv/lib?.so"));
        assert!(!ends_with_glob("/p/xlibx.so", "libx.so"));
        assert!(!ends_with_glob("/p/priv/libx.so", "lib?.dll"));
    }

    #[test]
    fn ignore_entries_name_known_rules() {
        assert_eq!(
            parse_ignore("not-a-nif:deps/**"),
            Ok(Ignore {
                rule: "not-a-nif".into(),
                glob: Some("deps/**".into())
            })
        );
        assert!(parse_ignore("no-such-rule").is_err());
    }
}
