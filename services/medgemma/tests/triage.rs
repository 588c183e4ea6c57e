//! Triage on the committed tiny model: `yes_no`'s prompt ids, answer ids and score equal the
//! Hugging Face reference (make_tiny.py's "triage" case), image features computed once serve
//! both the draft and the triage question without changing either, and misuse (features for
//! another number of images, unusable answer words, a prompt over the context) is a typed
//! error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use radraft_medgemma::{GenerateError, MedGemma, Part, Request, RuntimeConfig};
use serde_json::Value;

fn load() -> MedGemma {
    MedGemma::load(&common::fixture_dir(), &common::cpu_config()).expect("load tiny model")
}

fn answers(triage: &Value) -> (&str, &str) {
    let words = &triage["answers"];
    (
        words["yes"].as_str().expect("yes word"),
        words["no"].as_str().expect("no word"),
    )
}

#[test]
fn yes_no_score_matches_hf() {
    let reference = common::reference();
    let triage = &reference["triage"];
    let request = common::request(&reference, triage);
    let mut model = load();

    let prompt = model.prompt_ids(&request).expect("prompt ids");
    assert_eq!(
        prompt,
        common::ids(&triage["prompt_ids"]),
        "prompt ids differ from HF's processor"
    );
    let features = model.encode_images(&request).expect("encode");
    assert_eq!(features.images(), 1);
    let (yes, no) = answers(triage);
    let out = model.yes_no(&request, &features, yes, no).expect("yes_no");

    assert_eq!(u64::from(out.yes_id), triage["yes_id"].as_u64().unwrap());
    assert_eq!(u64::from(out.no_id), triage["no_id"].as_u64().unwrap());
    assert_eq!(out.prompt_tokens, prompt.len());
    let hf = |key: &str| triage[key].as_f64().expect(key);
    for (got, key) in [(out.yes_logit, "yes_logit"), (out.no_logit, "no_logit")] {
        let gap = (f64::from(got) - hf(key)).abs();
        assert!(gap < 1e-5, "{key}: {got} vs HF {} ({gap:.2e})", hf(key));
    }
    let gap = (out.score - hf("score")).abs();
    assert!(
        gap < 1e-5,
        "score {} vs HF {} ({gap:.2e})",
        out.score,
        hf("score")
    );
    // The fixture is chosen so that the score means something: not saturated, not a tie.
    assert!((0.01..=0.99).contains(&out.score) && (out.score - 0.5).abs() > 1e-4);
    eprintln!(
        "triage: {} prompt tokens, yes {} no {}, score {:.6} (HF {:.6}, gap {gap:.2e})",
        out.prompt_tokens,
        out.yes_id,
        out.no_id,
        out.score,
        hf("score")
    );
}

#[test]
fn features_computed_once_serve_draft_and_triage_unchanged() {
    let reference = common::reference();
    let mut model = load();
    for case in reference["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let request = common::request(&reference, case);
        let direct = model.generate(&request, |_| {}).expect("generate");
        let features = model.encode_images(&request).expect("encode");
        let mut streamed = Vec::new();
        let reused = model
            .generate_with_features(&request, &features, |t| streamed.push(t.id))
            .expect("generate_with_features");
        assert_eq!(reused.token_ids, direct.token_ids, "{name}");
        assert_eq!(streamed, direct.token_ids, "{name}");
        assert_eq!(reused.text, direct.text, "{name}");
        assert_eq!(reused.stop, direct.stop, "{name}");
        let same_bits = |a: &[f32], b: &[f32]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        };
        assert!(
            same_bits(&reused.first_logits, &direct.first_logits),
            "{name}"
        );
        assert_eq!(reused.timings.vision, features.elapsed(), "{name}");
    }

    // A study's draft and triage question share one encoder run; reusing the features after
    // the draft gives the score fresh features give.
    let triage = &reference["triage"];
    let question = common::request(&reference, triage);
    let mut draft = common::request(&reference, &reference["cases"][0]);
    draft.max_new_tokens = 3;
    let (yes, no) = answers(triage);
    let features = model.encode_images(&draft).expect("encode");
    model
        .generate_with_features(&draft, &features, |_| {})
        .expect("draft");
    let after_draft = model.yes_no(&question, &features, yes, no).expect("triage");
    let fresh = model.encode_images(&question).expect("encode again");
    let alone = model.yes_no(&question, &fresh, yes, no).expect("triage");
    assert_eq!(after_draft.score.to_bits(), alone.score.to_bits());
    assert_eq!(
        (after_draft.yes_logit, after_draft.no_logit),
        (alone.yes_logit, alone.no_logit)
    );
}

#[test]
fn features_for_another_number_of_images_are_refused() {
    let reference = common::reference();
    let triage = &reference["triage"];
    let (yes, no) = answers(triage);
    let with_image = common::request(&reference, triage);
    let text_only = common::request(&reference, &reference["cases"][1]);
    let mut model = load();
    let none = model.encode_images(&text_only).expect("no images");
    let one = model.encode_images(&with_image).expect("one image");
    assert_eq!((none.images(), one.images()), (0, 1));

    let err = model
        .generate_with_features(&with_image, &none, |_| {})
        .unwrap_err();
    assert!(
        matches!(
            err,
            GenerateError::FeatureCount {
                features: 0,
                images: 1
            }
        ),
        "{err}"
    );
    let err = model.yes_no(&text_only, &one, yes, no).unwrap_err();
    assert!(
        matches!(
            err,
            GenerateError::FeatureCount {
                features: 1,
                images: 0
            }
        ),
        "{err}"
    );

    let mut two = with_image.clone();
    two.parts.push(Part::Text("and".into()));
    two.parts.push(with_image.parts[0].clone());
    let err = model.yes_no(&two, &one, yes, no).unwrap_err();
    assert!(
        matches!(
            err,
            GenerateError::FeatureCount {
                features: 1,
                images: 2
            }
        ),
        "{err}"
    );
}

#[test]
fn unusable_answer_words_are_typed_errors() {
    let reference = common::reference();
    let triage = &reference["triage"];
    let request = common::request(&reference, triage);
    let mut model = load();
    let features = model.encode_images(&request).expect("encode");

    let err = model.yes_no(&request, &features, "Yes", "").unwrap_err();
    assert!(
        matches!(&err, GenerateError::EmptyAnswer { word } if word.is_empty()),
        "{err}"
    );
    assert!(err.to_string().contains("\"\""), "{err}");

    let err = model.yes_no(&request, &features, "Yes", "Yes").unwrap_err();
    assert!(
        matches!(&err, GenerateError::SameAnswerToken { yes, no, .. } if yes == "Yes" && no == "Yes"),
        "{err}"
    );
    assert!(err.to_string().contains("\"Yes\""), "{err}");

    // Longer answers are resolved to their first token: "No" starts "No pleural effusion".
    let (yes, no) = answers(triage);
    let short = model.yes_no(&request, &features, yes, no).unwrap();
    let long = model
        .yes_no(&request, &features, yes, "No pleural effusion")
        .unwrap();
    assert_eq!(long.no_id, short.no_id);
    assert_eq!(long.score.to_bits(), short.score.to_bits());
}

#[test]
fn triage_prompt_over_the_context_is_refused() {
    let reference = common::reference();
    let triage = &reference["triage"];
    let request = common::request(&reference, triage);
    let prompt = common::ids(&triage["prompt_ids"]).len();
    let cfg = RuntimeConfig {
        max_context: Some(prompt),
        ..common::cpu_config()
    };
    let mut model = MedGemma::load(&common::fixture_dir(), &cfg).unwrap();
    let features = model.encode_images(&request).unwrap();
    let (yes, no) = answers(triage);
    match model.yes_no(&request, &features, yes, no) {
        Err(GenerateError::PromptTooLong { tokens, limit }) => {
            assert_eq!((tokens, limit), (prompt, prompt));
        }
        other => panic!("expected PromptTooLong, got {other:?}"),
    }
    // A text-only question needs no features beyond the empty set.
    let text = Request {
        system: None,
        parts: vec![Part::Text(
            "Is there a pneumothorax? Answer yes or no.".into(),
        )],
        max_new_tokens: 0,
    };
    let empty = model.encode_images(&text).unwrap();
    let out = model.yes_no(&text, &empty, yes, no).unwrap();
    assert!((0.0..=1.0).contains(&out.score));
}
