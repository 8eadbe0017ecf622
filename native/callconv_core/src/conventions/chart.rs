//! Human-readable charts of the model, generated from the data (never typed by hand).
//!
//! Columns: convention, platform, cleanup, argument passing, return, callee-saved, typical use.

use super::model::{Cleanup, Convention};
use super::{all, for_arch};

const HEADERS: [&str; 7] = [
    "convention",
    "platform",
    "cleanup",
    "argument passing",
    "return",
    "callee-saved",
    "typical use",
];

/// Display form of a register name: s390x general registers are bare numbers in capstone's
/// spelling, shown here as `r6`.
pub fn display_reg(arch: &str, reg: &str) -> String {
    if arch == "s390x" && reg.chars().all(|c| c.is_ascii_digit()) && !reg.is_empty() {
        format!("r{reg}")
    } else {
        reg.to_string()
    }
}

fn regs(arch: &str, list: &[&str]) -> String {
    let v: Vec<String> = list.iter().map(|r| display_reg(arch, r)).collect();
    v.join(" ")
}

fn cells(c: &Convention) -> [String; 7] {
    let cleanup = match c.stack_cleanup {
        Cleanup::Caller => "caller",
        Cleanup::Callee => "callee",
        Cleanup::NotApplicable => "n/a",
    };
    let args = if !c.is_calling_convention {
        "none (IP-register dispatch)".to_string()
    } else {
        let ints = if c.int_args.is_empty() {
            "stack".to_string()
        } else {
            regs(c.arch, c.int_args)
        };
        let fps = if c.float_args.is_empty() {
            "as int/stack".to_string()
        } else {
            regs(c.arch, c.float_args)
        };
        format!("int: {ints}; fp: {fps}; then stack")
    };
    let ret = if c.int_return.is_empty() {
        "none".to_string()
    } else {
        format!(
            "{} / {}",
            regs(c.arch, c.int_return_pair),
            regs(c.arch, c.float_return)
        )
    };
    let saved = if c.callee_saved.is_empty() {
        "none".to_string()
    } else {
        regs(c.arch, c.callee_saved)
    };
    [
        c.id.to_string(),
        c.platforms.join(", "),
        cleanup.to_string(),
        args,
        ret,
        saved,
        c.typical_use.to_string(),
    ]
}

fn rows(arch: Option<&str>) -> Vec<[String; 7]> {
    match arch {
        None => all().iter().map(cells).collect(),
        Some(a) => for_arch(a).map(cells).collect(),
    }
}

/// Plain-text table with aligned columns, for `arch` (Rust `target_arch` spelling) or for
/// every convention when `None`. An unknown arch gives an empty string.
pub fn render_table(arch: Option<&str>) -> String {
    let rows = rows(arch);
    if rows.is_empty() {
        return String::new();
    }
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&HEADERS.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &rows {
        line(row);
    }
    out
}

/// Markdown table, for `arch` or every convention when `None`. An unknown arch gives an empty
/// string.
pub fn render_markdown(arch: Option<&str>) -> String {
    let rows = rows(arch);
    if rows.is_empty() {
        return String::new();
    }
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(HEADERS.len())));
    for row in &rows {
        let cells: Vec<String> = row.iter().map(|c| esc(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}
