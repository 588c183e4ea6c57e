//! Cross-sectional series (CT, MR): choosing the series, ordering slices along the slice
//! normal, picking K evenly spaced slices, and rendering them (CT: three HU windows into
//! R, G, B; MR: one min-max window over the whole series).

use std::collections::BTreeMap;

use crate::image8::Image8;
use crate::object::Instance;
use crate::pixels::{self, FramePixels, Frames};
use crate::study::{SelectedImage, Skipped, StudyOptions};
use crate::window::{GrayFrame, Window};

/// Google's CT windows (HU): wide, soft tissue, brain; into R, G, B.
pub const CT_WINDOWS: [Window; 3] = [
    Window {
        lo: -1024.0,
        hi: 1024.0,
    },
    Window {
        lo: -135.0,
        hi: 215.0,
    },
    Window { lo: 0.0, hi: 80.0 },
];

/// Keeps the series with the most objects (ties: smallest Series Instance UID); the other
/// series are skipped with a reason.
pub(crate) fn select_series<'a>(
    chosen: Vec<&'a Instance>,
    skipped: &mut Vec<Skipped>,
) -> Vec<&'a Instance> {
    let mut by_series: BTreeMap<&str, Vec<&Instance>> = BTreeMap::new();
    for inst in chosen {
        by_series
            .entry(inst.series_instance_uid.as_str())
            .or_default()
            .push(inst);
    }
    let best = by_series
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
        .map(|(k, _)| k.to_string());
    let mut keep = Vec::new();
    for (uid, insts) in by_series {
        if Some(uid) == best.as_deref() {
            keep = insts;
        } else {
            for i in insts {
                skipped.push(Skipped {
                    sop_instance_uid: i.sop_instance_uid.clone(),
                    reason: format!("series {uid} not selected (a larger series was)"),
                });
            }
        }
    }
    sort_slices(&mut keep);
    keep
}

/// Ascending position along the slice normal when every object has one, otherwise by
/// InstanceNumber; SOP Instance UID breaks ties.
pub fn sort_slices(slices: &mut [&Instance]) {
    if slices.iter().all(|i| i.slice_position().is_some()) {
        slices.sort_by(|a, b| {
            let (pa, pb) = (
                a.slice_position().unwrap_or(0.0),
                b.slice_position().unwrap_or(0.0),
            );
            pa.total_cmp(&pb)
                .then_with(|| a.sop_instance_uid.cmp(&b.sop_instance_uid))
        });
    } else {
        slices.sort_by(|a, b| {
            a.instance_number
                .unwrap_or(i64::MAX)
                .cmp(&b.instance_number.unwrap_or(i64::MAX))
                .then_with(|| a.sop_instance_uid.cmp(&b.sop_instance_uid))
        });
    }
}

/// Indices of up to `k` evenly spaced items of `n`: `i * (n - 1) / (k - 1)` (integer
/// division), all of them when `n <= k`, the middle one when `k == 1`.
pub fn evenly_spaced(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    if k <= 1 {
        return vec![n / 2];
    }
    (0..k).map(|i| i * (n - 1) / (k - 1)).collect()
}

/// `f` over `items` on all cores (scoped threads, one contiguous chunk per core), in order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        // A worker only panics if `f` does; re-raise it on this thread.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Decodes objects on all cores.
fn decode_all(insts: &[&Instance], max_samples: u64) -> Vec<Result<Frames, crate::ImagingError>> {
    parallel_map(insts, |i| pixels::decode(i, max_samples))
}

/// Decoded slices (object, frame) in order; failures are skipped with their reason.
fn decoded_slices(
    series: &[&Instance],
    max_samples: u64,
    skipped: &mut Vec<Skipped>,
) -> Vec<(String, usize, Frames)> {
    let mut out = Vec::new();
    for (inst, res) in series.iter().zip(decode_all(series, max_samples)) {
        match res {
            Ok(f) => out.push((inst.sop_instance_uid.clone(), 0, f)),
            Err(e) => skipped.push(Skipped {
                sop_instance_uid: inst.sop_instance_uid.clone(),
                reason: e.to_string(),
            }),
        }
    }
    out
}

/// Per-slice grey frames, expanding multi-frame objects into their frames.
fn gray_frames(
    decoded: &[(String, usize, Frames)],
) -> Vec<(String, usize, GrayFrame<'_>, bool, &Frames)> {
    let mut out = Vec::new();
    for (uid, _, frames) in decoded {
        if let FramePixels::Gray {
            stored,
            slope,
            intercept,
            monochrome1,
            ..
        } = &frames.pixels
        {
            for (i, s) in stored.chunks_exact(frames.frame_len().max(1)).enumerate() {
                out.push((
                    uid.clone(),
                    i,
                    GrayFrame {
                        rows: frames.rows,
                        columns: frames.columns,
                        stored: s,
                        slope: *slope,
                        intercept: *intercept,
                    },
                    *monochrome1,
                    frames,
                ));
            }
        }
    }
    out
}

pub(crate) fn ct_images(
    series: &[&Instance],
    options: &StudyOptions,
    skipped: &mut Vec<Skipped>,
) -> Vec<SelectedImage> {
    // Only the chosen slices are decoded (single-frame objects, the usual CT layout).
    let picks = evenly_spaced(series.len(), options.max_slices);
    let picked: Vec<&Instance> = picks.iter().map(|&i| series[i]).collect();
    let decoded = decoded_slices(&picked, options.max_samples, skipped);
    let mut images = Vec::new();
    let frames = gray_frames(&decoded);
    let chosen = evenly_spaced(frames.len(), options.max_slices);
    images.extend(parallel_map(&chosen, |&idx| {
        let (uid, frame, g, _, _) = &frames[idx];
        let [r, gch, b] = g.render_three(CT_WINDOWS);
        SelectedImage {
            sop_instance_uid: uid.clone(),
            frame: *frame,
            image: Image8::rgb_planes(g.columns, g.rows, r, gch, b),
        }
    }));
    push_colour(&decoded, &mut images, skipped);
    images
}

pub(crate) fn mr_images(
    series: &[&Instance],
    options: &StudyOptions,
    skipped: &mut Vec<Skipped>,
) -> Vec<SelectedImage> {
    let decoded = decoded_slices(series, options.max_samples, skipped);
    let frames = gray_frames(&decoded);
    let range = frames
        .iter()
        .filter_map(|f| f.2.modality_range())
        .reduce(|a, b| Window {
            lo: a.lo.min(b.lo),
            hi: a.hi.max(b.hi),
        });
    let window = range.unwrap_or(Window { lo: 0.0, hi: 0.0 });
    let mut images = Vec::new();
    for idx in evenly_spaced(frames.len(), options.max_slices) {
        let (uid, frame, g, mono1, _) = &frames[idx];
        images.push(SelectedImage {
            sop_instance_uid: uid.clone(),
            frame: *frame,
            image: g.to_image(window, *mono1),
        });
    }
    push_colour(&decoded, &mut images, skipped);
    images
}

/// Colour objects in a CT/MR series are not windowed; they are recorded as skipped.
fn push_colour(
    decoded: &[(String, usize, Frames)],
    _images: &mut [SelectedImage],
    skipped: &mut Vec<Skipped>,
) {
    for (uid, _, f) in decoded {
        if matches!(f.pixels, FramePixels::Rgb { .. }) {
            skipped.push(Skipped {
                sop_instance_uid: uid.clone(),
                reason: "colour image in a CT/MR series".into(),
            });
        }
    }
}
