//! An 8-bit image held as planes (one for grey, three for RGB), the form both the resize
//! and the PNG encoder work on.

/// An 8-bit image: 1 plane (grey, expanded to RGB for the model) or 3 planes (R, G, B).
#[derive(Debug, Clone, PartialEq)]
pub struct Image8 {
    pub width: usize,
    pub height: usize,
    pub planes: Vec<Vec<u8>>,
}

impl Image8 {
    pub fn gray(width: usize, height: usize, data: Vec<u8>) -> Self {
        Image8 {
            width,
            height,
            planes: vec![data],
        }
    }

    pub fn rgb_planes(width: usize, height: usize, r: Vec<u8>, g: Vec<u8>, b: Vec<u8>) -> Self {
        Image8 {
            width,
            height,
            planes: vec![r, g, b],
        }
    }

    /// From interleaved RGB triples.
    pub fn from_interleaved(width: usize, height: usize, rgb: &[u8]) -> Self {
        let n = width * height;
        let mut planes = vec![
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        ];
        for px in rgb.chunks_exact(3).take(n) {
            for (plane, &v) in planes.iter_mut().zip(px) {
                plane.push(v);
            }
        }
        Image8 {
            width,
            height,
            planes,
        }
    }

    /// Pads to a centred square with zeros (Google's CXR recipe). The extra row or column
    /// of an odd difference goes after the image (bottom / right), as `(d) // 2` before.
    pub fn pad_to_square(&self) -> Image8 {
        let side = self.width.max(self.height);
        if self.width == self.height {
            return self.clone();
        }
        let x0 = (side - self.width) / 2;
        let y0 = (side - self.height) / 2;
        let planes = self
            .planes
            .iter()
            .map(|p| {
                let mut out = vec![0u8; side * side];
                for (y, row) in p.chunks_exact(self.width).enumerate() {
                    let start = (y + y0) * side + x0;
                    out[start..start + self.width].copy_from_slice(row);
                }
                out
            })
            .collect();
        Image8 {
            width: side,
            height: side,
            planes,
        }
    }

    /// Channel `c` as RGB sees it: a grey image repeats its one plane.
    pub fn channel(&self, c: usize) -> &[u8] {
        let i = if self.planes.len() == 1 {
            0
        } else {
            c.min(self.planes.len() - 1)
        };
        &self.planes[i]
    }
}
