//! One study through imaging and the tiny MedGemma, as the worker drafts it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fixture, tiny_model};
use radraft_imaging::{Recipe, StudyOptions, model_input, prepare_study};
use radraft_medgemma::GenerateError;
use radraft_worker::inputs::{self, StudyInput};
use radraft_worker::prompt::Templates;
use radraft_worker::{DraftError, DraftOptions, draft_study};

fn only_study(relative: &str) -> StudyInput {
    let mut found = inputs::collect(&[fixture(relative)]);
    assert!(found.rejected.is_empty(), "{:?}", found.rejected);
    assert_eq!(found.studies.len(), 1, "one study in {relative}");
    found.studies.remove(0)
}

fn options(max_new_tokens: usize) -> DraftOptions {
    DraftOptions {
        max_new_tokens,
        ..DraftOptions::new(Templates::builtin().unwrap())
    }
}

#[test]
fn a_projection_study_is_drafted_from_its_images_in_view_order() {
    let study = only_study("dx-chest/explicit-le");
    let mut model = tiny_model();
    let mut streamed = String::new();
    let draft = draft_study(&mut model, &study.instances, &options(24), |t| {
        streamed.push_str(t.text)
    })
    .unwrap();

    assert_eq!(draft.recipe, Recipe::Projection);
    assert_eq!(draft.images.len(), 2);
    let frontal = study
        .instances
        .iter()
        .find(|i| i.view_position == "PA")
        .expect("a PA view");
    assert_eq!(draft.images[0].sop_instance_uid, frontal.sop_instance_uid);
    let g = &draft.generation;
    assert!(!g.token_ids.is_empty() && g.token_ids.len() <= 24);
    assert_eq!(g.text, streamed.trim());
    assert_eq!(g.provider, "CPUExecutionProvider");

    // The same images and prompt given to the model directly give the same tokens: the
    // worker adds selection and sizing, nothing else.
    let side = model.manifest().vision.as_ref().unwrap().image_size;
    let images = prepare_study(&study.instances, &StudyOptions::default()).unwrap();
    let pixels = images
        .images
        .iter()
        .map(|i| model_input(&i.image, side))
        .collect();
    let templates = Templates::builtin().unwrap();
    let template = templates.for_recipe(Recipe::Projection);
    assert_eq!(draft.template, *template);
    let request = template.request(pixels, 24);
    let direct = model.generate(&request, |_| {}).unwrap();
    assert_eq!(direct.token_ids, g.token_ids);
    assert_eq!(direct.prompt_tokens, g.prompt_tokens);

    // Triage asked on the same features: the same score as asking it from scratch.
    let triage = draft.triage.as_ref().expect("triage on by default");
    assert!((0.0..=1.0).contains(&triage.score), "{}", triage.score);
    assert_eq!(triage.flag, triage.score > 0.5);
    let pixels: Vec<_> = images
        .images
        .iter()
        .map(|i| model_input(&i.image, side))
        .collect();
    let question = template.question(pixels, &triage.question);
    let features = model.encode_images(&question).unwrap();
    let direct = model.yes_no(&question, &features, "Yes", "No").unwrap();
    assert_eq!(direct.score, triage.score);
    // Each image's hash is of its exact model input, so equal inputs hash equal.
    assert_eq!(draft.images.len(), 2);
    assert_ne!(draft.images[0].input_sha256, draft.images[1].input_sha256);
    assert_eq!(draft.images[0].input_sha256.len(), 64);
}

#[test]
fn the_pixels_reach_the_model() {
    let mut model = tiny_model();
    let fixed = DraftOptions {
        instruction: Some("Describe.".into()),
        ..options(1)
    };
    // The frontal and the lateral view of one study, each drafted alone: same prompt.
    let frontal = only_study("dx-chest/explicit-le/dx-s1-0001.dcm");
    let lateral = only_study("dx-chest/explicit-le/dx-s2-0001.dcm");
    let a = draft_study(&mut model, &frontal.instances, &fixed, |_| {}).unwrap();
    let b = draft_study(&mut model, &lateral.instances, &fixed, |_| {}).unwrap();
    assert_eq!(a.generation.prompt_tokens, b.generation.prompt_tokens);
    assert_ne!(a.generation.first_logits, b.generation.first_logits);
}

#[test]
fn ct_slices_are_capped_and_the_review_pngs_written() {
    let study = only_study("ct-chest/explicit-le");
    let mut model = tiny_model();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(4);
    // The tiny model's 256-token context holds three slices with a short instruction.
    opts.instruction = Some("Describe.".into());
    opts.study.max_slices = 3;
    opts.png_dir = Some(dir.path().to_path_buf());
    let draft = draft_study(&mut model, &study.instances, &opts, |_| {}).unwrap();

    assert_eq!(draft.recipe, Recipe::Ct);
    assert_eq!(draft.images.len(), 3);
    assert_eq!(draft.pngs.len(), 3);
    let prepared = prepare_study(&study.instances, &opts.study).unwrap();
    for (png, selected) in draft.pngs.iter().zip(&prepared.images) {
        let bytes = std::fs::read(png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        let want = (selected.image.width as u32, selected.image.height as u32);
        assert_eq!((width, height), want, "{}", png.display());
        assert_eq!(bytes[25], 2, "CT renderings are RGB (three windows)");
    }
}

#[test]
fn a_prompt_over_the_context_is_a_clear_error() {
    let study = only_study("ct-chest/explicit-le");
    let mut model = tiny_model();
    let mut opts = options(4);
    opts.study.max_slices = 24;
    opts.triage = None;
    let err = draft_study(&mut model, &study.instances, &opts, |_| {}).unwrap_err();
    match err {
        DraftError::Generate(GenerateError::PromptTooLong { tokens, limit }) => {
            assert_eq!(limit, 256);
            assert!(tokens > limit);
        }
        other => panic!("expected PromptTooLong, got {other}"),
    }
}

#[test]
fn a_study_without_images_fails_with_the_reasons() {
    let found = inputs::collect(&[fixture("bad/non-image-sop-class.dcm")]);
    let study = found.studies.first().expect("the object opens");
    let mut model = tiny_model();
    let err = draft_study(&mut model, &study.instances, &options(4), |_| {}).unwrap_err();
    assert!(matches!(err, DraftError::Imaging(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&study.instances[0].sop_instance_uid),
        "{message}"
    );
}
