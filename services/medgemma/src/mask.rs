//! The decoder's two additive attention masks, built outside the graph exactly as Hugging
//! Face's Gemma 3 builds them: full = causal OR same image (the soft tokens of one image see
//! each other both ways); sliding = full AND `kv > q - window`.

use ndarray::Array4;

/// The value that masks a position out; HF uses the dtype's minimum, not -inf, so a row
/// never becomes all -inf.
const MASKED: f32 = f32::MIN;

/// The masks for `len` new tokens at positions `past..past + len`, each `[1, 1, len, past + len]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Masks {
    pub(crate) full: Array4<f32>,
    pub(crate) sliding: Array4<f32>,
}

/// `groups[i]` is 0 for a text token at position i and the image's number (from 1) for an
/// image soft token; it must cover positions `0..past + len`.
pub(crate) fn build(groups: &[u32], past: usize, len: usize, window: usize) -> Masks {
    let total = past + len;
    let mut full = Array4::<f32>::from_elem((1, 1, len, total), MASKED);
    let mut sliding = Array4::<f32>::from_elem((1, 1, len, total), MASKED);
    for row in 0..len {
        let q = past + row;
        let q_group = groups.get(q).copied().unwrap_or(0);
        for kv in 0..total {
            let same_image = q_group != 0 && groups.get(kv).copied().unwrap_or(0) == q_group;
            if kv <= q || same_image {
                full[[0, 0, row, kv]] = 0.0;
                // kv > q - window, written without going below zero.
                if kv + window > q {
                    sliding[[0, 0, row, kv]] = 0.0;
                }
            }
        }
    }
    Masks { full, sliding }
}

/// Image group numbers for a token sequence: consecutive runs of `image_token` are one image.
pub(crate) fn image_groups(ids: &[u32], image_token: u32) -> Vec<u32> {
    let mut groups = Vec::with_capacity(ids.len());
    let mut current = 0u32;
    let mut previous_was_image = false;
    for &id in ids {
        let is_image = id == image_token;
        if is_image && !previous_was_image {
            current += 1;
        }
        groups.push(if is_image { current } else { 0 });
        previous_was_image = is_image;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(m: &Array4<f32>) -> Vec<Vec<u8>> {
        m.outer_iter()
            .next()
            .unwrap()
            .outer_iter()
            .next()
            .unwrap()
            .outer_iter()
            .map(|row| row.iter().map(|&v| u8::from(v == 0.0)).collect())
            .collect()
    }

    #[test]
    fn groups_split_runs() {
        assert_eq!(image_groups(&[5, 9, 9, 5, 9, 5], 9), vec![0, 1, 1, 0, 2, 0]);
    }

    #[test]
    fn image_block_is_bidirectional_and_window_applies() {
        // t i i i t, window 2.
        let groups = [0, 1, 1, 1, 0];
        let m = build(&groups, 0, 5, 2);
        assert_eq!(
            allowed(&m.full),
            vec![
                vec![1, 0, 0, 0, 0],
                vec![1, 1, 1, 1, 0],
                vec![1, 1, 1, 1, 0],
                vec![1, 1, 1, 1, 0],
                vec![1, 1, 1, 1, 1],
            ]
        );
        assert_eq!(
            allowed(&m.sliding),
            vec![
                vec![1, 0, 0, 0, 0],
                vec![1, 1, 1, 1, 0],
                vec![0, 1, 1, 1, 0],
                vec![0, 0, 1, 1, 0],
                vec![0, 0, 0, 1, 1],
            ]
        );
    }

    #[test]
    fn decode_step_sees_everything_but_the_window() {
        let groups = [0, 1, 1, 0, 0];
        let m = build(&groups, 4, 1, 3);
        assert_eq!(allowed(&m.full), vec![vec![1, 1, 1, 1, 1]]);
        assert_eq!(allowed(&m.sliding), vec![vec![0, 0, 1, 1, 1]]);
    }
}
