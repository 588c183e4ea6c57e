//! radraft-imaging: from DICOM objects to MedGemma-ready images.
//!
//! The path is `open_path`/`open_bytes` → [`prepare_study`] (decode, Modality LUT, VOI
//! window, MONOCHROME1 inversion, 8-bit scaling, per-modality selection) → [`model_input`]
//! (`[3, 896, 896]` f32, bit-identical to Hugging Face's Gemma 3 processor) and [`png`].

mod admit;
mod codec;
mod color;
mod error;
mod image8;
mod j2k;
mod j2k_header;
pub mod jpegls;
pub mod ljpeg;
mod ljpeg_header;
mod model;
mod object;
pub mod pixels;
mod resize;
mod resize_pass;
mod series;
mod stream_guard;
mod study;
mod window;

pub use error::ImagingError;
pub use image8::Image8;
pub use model::{MODEL_SIDE, model_batch, model_input, png, resize};
pub use object::{Instance, open_bytes, open_path};
pub use pixels::{FileWindow, FramePixels, Frames, decode, decode_reduced};
pub use radraft_dicom_guard::MAX_INFLATED_BYTES;
pub use resize::resize_plane;
pub use series::{CT_WINDOWS, evenly_spaced};
pub use study::{
    Recipe, SelectedImage, Skipped, StudyImages, StudyOptions, prepare_study, render_frames,
};
pub use window::{GrayFrame, Window};
