//! How a signed report differs from the AI's draft: a line diff to show the radiologist's
//! change (the longest common subsequence of lines, then removals `-`, additions `+` and
//! kept lines ` ` in order), and the character edit distance governance counts.

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

/// Levenshtein distance in characters (insertions, deletions, substitutions), saturating
/// at `i32::MAX`. Reports are a few thousand characters; two rows of the table suffice.
pub fn edit_distance(a: &str, b: &str) -> i32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    i32::try_from(previous[b.len()]).unwrap_or(i32::MAX)
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

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("é", "e"), 1, "characters, not bytes");
    }
}
