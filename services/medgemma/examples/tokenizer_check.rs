//! Real Gemma 3 tokenizer check, part 2 (Rust): renders the prompts of `expected.json` with
//! this crate's prompt code and the real tokenizer converted by check_real_tokenizer.py, and
//! requires exactly HF's ids. Exits non-zero on any difference.
//!
//!     cargo run --release -p radraft-medgemma --example tokenizer_check -- <check dir>

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use ndarray::Array3;
use radraft_medgemma::{Manifest, Part, Request, token_ids};
use tokenizers::Tokenizer;

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: tokenizer_check <dir>"),
    );
    let manifest = Manifest::read(&dir).expect("manifest.json");
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).expect("tokenizer.json");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut failed = 0;
    for case in expected.as_array().unwrap() {
        let parts = case["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| match p.get("text") {
                Some(t) => Part::Text(t.as_str().unwrap().to_owned()),
                None => Part::Image(Array3::zeros((3, 1, 1))),
            })
            .collect();
        let request = Request {
            system: case["system"].as_str().map(str::to_owned),
            parts,
            max_new_tokens: 1,
        };
        let got = token_ids(&manifest, &tokenizer, &request).unwrap();
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let name = case["name"].as_str().unwrap();
        if got == want {
            println!("{name}: {} ids identical to HF", got.len());
        } else {
            failed += 1;
            let at = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(want.len()));
            println!(
                "{name}: DIFFERENT from HF at {at}: rust {:?} vs hf {:?}",
                &got[at..],
                &want[at..]
            );
        }
    }
    println!(
        "{} passed, {failed} failed",
        expected.as_array().unwrap().len() - failed
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
