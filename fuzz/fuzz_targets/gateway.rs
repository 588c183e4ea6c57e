//! Fuzz target: the gateway's own reading path. The first byte picks the association's
//! transfer syntax, the rest is what a peer sends after negotiation: PDUs → DIMSE messages
//! → command sets → data sets → ingest checks (guarded parse, identity, pixel data against
//! the image description), as `radraft_gateway::inspect::replay` runs them. Any panic,
//! abort or sanitizer report is a bug; failure statuses are fine.

#![no_main]

use libfuzzer_sys::fuzz_target;
use radraft_core::transfer_syntax::DECODABLE;
use radraft_gateway::inspect::replay;

/// A small per-object limit keeps each input fast and its memory bounded (the gateway's
/// default is 1 GiB); services/gateway/tests/regressions.rs replays with the same.
const MAX_INSTANCE_BYTES: u64 = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((pick, stream)) = data.split_first() else {
        return;
    };
    let (transfer_syntax, _) = DECODABLE[usize::from(*pick) % DECODABLE.len()];
    let _ = replay(stream, transfer_syntax, MAX_INSTANCE_BYTES);
});
