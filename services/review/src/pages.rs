//! Server-rendered pages: no front-end build, every value escaped. The worklist shows every
//! announced study in triage order with its AI state, and refreshes itself every few
//! seconds so new drafts appear without a reload; `j`/`k` move through it, Enter opens.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::Html;
use radraft_store::WorklistRow;

use crate::api::{WorklistQuery, worklist_rows};
use crate::app::AppState;
use crate::auth::{ROLES, Signed};
use crate::error::ApiError;

/// How often the worklist page refreshes its rows.
const REFRESH_MS: u32 = 5000;

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">
<title>{} - radraft</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5rem}} table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left}}
tr.flag td:first-child{{border-left:4px solid #c00}} tr.selected{{background:#eef}}
.error{{color:#a00}} label{{display:block;margin:.4rem 0}} .ai{{color:#555;font-style:italic}}
</style></head><body>{body}</body></html>",
        escape(title)
    ))
}

fn waiting(row: &WorklistRow) -> String {
    let minutes = row.waiting.as_secs() / 60;
    match minutes {
        0..60 => format!("{minutes} min"),
        _ => format!("{} h {} min", minutes / 60, minutes % 60),
    }
}

fn ai_state(row: &WorklistRow) -> String {
    match row.ai_state.as_str() {
        "processing" => "drafting".to_owned(),
        "failed" => format!(
            "failed: {}",
            escape(
                row.failure_reason
                    .as_deref()
                    .unwrap_or("no reason recorded")
            )
        ),
        "out_of_scope" => "not drafted (out of scope)".to_owned(),
        // A model version in shadow mode drafted it: measured, never shown.
        "shadow" => "drafted in shadow mode (withheld)".to_owned(),
        "stable" | "queued" => "queued".to_owned(),
        "receiving" => "updating (new images arriving)".to_owned(),
        other => escape(other),
    }
}

fn rows_html(rows: &[WorklistRow]) -> String {
    let mut out = String::new();
    for row in rows {
        let class = if row.triage_flag {
            " class=\"flag\""
        } else {
            ""
        };
        let score = row
            .triage_score
            .map_or("—".to_owned(), |s| format!("{s:.2}"));
        let flag = match (row.triage_flag, row.overdue) {
            (true, true) => "FLAGGED, overdue",
            (true, false) => "FLAGGED",
            (false, true) => "overdue",
            (false, false) => "",
        };
        let uid = escape(&row.study_uid);
        let study = match row.draft_id {
            Some(_) => format!("<a href=\"/studies/{uid}\">{uid}</a>"),
            None => uid.clone(),
        };
        let _ = write!(
            out,
            "<tr{class} data-study=\"{uid}\"><td>{study}</td><td>{accession}</td><td>{modality}</td>\
             <td>{description}</td><td>{waiting}</td><td>{score}</td><td>{flag}</td><td>{ai}</td>\
             <td>{review}</td></tr>",
            accession = escape(row.accession_number.as_deref().unwrap_or("—")),
            description = escape(row.description.as_deref().unwrap_or("")),
            modality = escape(&row.modalities),
            waiting = waiting(row),
            ai = ai_state(row),
            review = escape(row.review.as_deref().unwrap_or("—")),
        );
    }
    out
}

pub async fn worklist(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<WorklistQuery>,
) -> Result<Html<String>, ApiError> {
    signed.require(&ROLES)?;
    let rows = worklist_rows(&state, &query).await?;
    let value = |v: &Option<String>| escape(v.as_deref().unwrap_or(""));
    let body = format!(
        "<header><strong>radraft review</strong> — signed in as {name} ({role})
  <form method=\"post\" action=\"/logout\" style=\"display:inline\">
    <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button>Sign out</button></form></header>
<h1>Worklist</h1>
<p class=\"ai\">Triage scores and drafts are preliminary AI output (MedGemma); a radiologist
reviews every study. Triage orders the list and never hides a study.</p>
<form method=\"get\" action=\"/\">
  <label>Modality <input name=\"modality\" value=\"{modality}\" size=\"4\"></label>
  <label>Review <input name=\"review\" value=\"{review}\" size=\"9\"></label>
  <label>Received on <input name=\"date\" type=\"date\" value=\"{date}\"></label>
  <button>Filter</button></form>
<table><thead><tr><th>Study</th><th>Accession</th><th>Modality</th><th>Description</th>
<th>Waiting</th><th>Triage</th><th>Flag</th><th>AI state</th><th>Review</th></tr></thead><tbody id=\"rows\">{rows}</tbody></table>
<script>
let selected = 0;
function mark() {{
  const rows = document.querySelectorAll('#rows tr');
  rows.forEach((r, i) => r.classList.toggle('selected', i === selected));
}}
document.addEventListener('keydown', e => {{
  const n = document.querySelectorAll('#rows tr').length;
  if (e.target.tagName === 'INPUT') return;
  if (e.key === 'j') {{ selected = Math.min(selected + 1, n - 1); mark(); }}
  if (e.key === 'k') {{ selected = Math.max(selected - 1, 0); mark(); }}
  if (e.key === 'Enter' || e.key === 'o') {{
    const link = document.querySelectorAll('#rows tr')[selected]?.querySelector('a');
    if (link) location.href = link.href;
  }}
}});
setInterval(async () => {{
  const response = await fetch(location.href, {{credentials: 'same-origin'}});
  if (!response.ok) return;
  const html = new DOMParser().parseFromString(await response.text(), 'text/html');
  const rows = html.getElementById('rows');
  if (rows) {{ document.getElementById('rows').innerHTML = rows.innerHTML; mark(); }}
}}, {REFRESH_MS});
mark();
</script>",
        name = escape(&signed.user.display_name),
        role = escape(&signed.user.role),
        csrf = escape(&signed.csrf_token),
        modality = value(&query.modality),
        review = value(&query.review),
        date = value(&query.date),
        rows = rows_html(&rows),
    );
    Ok(page("Worklist", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
