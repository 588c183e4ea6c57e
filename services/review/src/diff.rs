//! A line diff between the AI's draft and the signed report, so an edit shows what the
//! radiologist changed: the longest common subsequence of lines, then removals (`-`),
//! additions (`+`) and kept lines (` `) in order.

/// `(sign, line)` pairs: `'-'` only in `before`, `'+'` only in `after`, `' '` in both.
pub fn line_diff<'a>(before: &'a str, after: &'a str) -> Vec<(char, &'a str)> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    // lcs[i][j]: common lines of a[i..] and b[j..]. Reports are short; quadratic is fine.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len() + b.len());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(('-', a[i]));
            i += 1;
        } else {
            out.push(('+', b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| ('-', *l)));
    out.extend(b[j..].iter().map(|l| ('+', *l)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_changed_added_and_kept_lines() {
        let diff = line_diff(
            "Lungs clear.\nNo effusion.\nNormal.",
            "Lungs clear.\nSmall effusion.\nNormal.\nFollow up.",
        );
        assert_eq!(
            diff,
            [
                (' ', "Lungs clear."),
                ('-', "No effusion."),
                ('+', "Small effusion."),
                (' ', "Normal."),
                ('+', "Follow up."),
            ]
        );
        assert_eq!(line_diff("", "a"), [('+', "a")]);
        assert_eq!(line_diff("a", "a"), [(' ', "a")]);
    }
}
