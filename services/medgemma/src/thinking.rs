//! Removes thinking traces (MedGemma 1.5 style: a start marker, the model's reasoning, an
//! end marker) from generated token ids before they become the draft's text.

/// Returns the ids outside thinking traces. A trace with no end marker runs to the end of
/// the output (the budget ran out while the model was still thinking), so it is dropped.
pub(crate) fn strip(ids: &[u32], start: u32, end: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(ids.len());
    let mut inside = false;
    for &id in ids {
        if inside {
            if id == end {
                inside = false;
            }
        } else if id == start {
            inside = true;
        } else {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn strips_closed_and_open_traces() {
        assert_eq!(strip(&[1, 9, 2, 3, 8, 4], 9, 8), vec![1, 4]);
        assert_eq!(strip(&[1, 9, 2, 3], 9, 8), vec![1]);
        assert_eq!(strip(&[1, 2, 3], 9, 8), vec![1, 2, 3]);
        assert_eq!(strip(&[9, 8, 9, 5, 8, 7], 9, 8), vec![7]);
    }
}
