//! Work counters for the benchmark: instructions decoded and interpreted, and the time spent
//! decoding and analysing, summed over a process. Off unless [`enable`] is called (the CLI
//! does under `CALLCONV_STATS=1`); they only observe, and never feed a report or a budget.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);
static DECODED: AtomicU64 = AtomicU64::new(0);
static DECODE_NS: AtomicU64 = AtomicU64::new(0);
static INTERPRETED: AtomicU64 = AtomicU64::new(0);
static SWEPT: AtomicU64 = AtomicU64::new(0);
static ANALYSIS_NS: AtomicU64 = AtomicU64::new(0);

/// Turns counting on for the rest of the process.
pub fn enable() {
    ENABLED.store(true, Relaxed);
}

/// A start time, when counting is on.
pub fn start() -> Option<Instant> {
    ENABLED.load(Relaxed).then(Instant::now)
}

fn elapsed_ns(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// One instruction decoded (a decode-cache miss), since `started`.
pub fn decoded(started: Option<Instant>) {
    if let Some(t) = started {
        DECODED.fetch_add(1, Relaxed);
        DECODE_NS.fetch_add(elapsed_ns(t), Relaxed);
    }
}

/// One library analysed since `started`: `interpreted` instructions stepped by the
/// per-function interpreter, `swept` by the instruction-set sweep.
pub fn analysed(started: Option<Instant>, interpreted: usize, swept: usize) {
    if let Some(t) = started {
        INTERPRETED.fetch_add(interpreted as u64, Relaxed);
        SWEPT.fetch_add(swept as u64, Relaxed);
        ANALYSIS_NS.fetch_add(elapsed_ns(t), Relaxed);
    }
}

/// The counters as one line of JSON.
pub fn json() -> String {
    format!(
        "{{\"decoded\":{},\"decode_ns\":{},\"interpreted\":{},\"swept\":{},\"analysis_ns\":{}}}",
        DECODED.load(Relaxed),
        DECODE_NS.load(Relaxed),
        INTERPRETED.load(Relaxed),
        SWEPT.load(Relaxed),
        ANALYSIS_NS.load(Relaxed)
    )
}
