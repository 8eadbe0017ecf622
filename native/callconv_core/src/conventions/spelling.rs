//! Language spellings of calling conventions → model conventions.

use super::model::Convention;
use super::target::{default_for, Env, TargetSpec};
use super::{aarch64, arm, by_id, x86};
use crate::platform::{Arch, Os};
use serde::Serialize;

/// The language (or tool) a spelling comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Language {
    /// Rust `extern "…"` ABI strings (`[RUSTREF]`).
    Rust,
    /// Zig `callconv(.…)` tags of `std.builtin.CallingConvention` (checked with zig 0.17).
    Zig,
    /// GCC/Clang `__attribute__((…))` attributes (`[GCC-X86ATTR]`).
    C,
    /// MSVC keywords (`__cdecl`, `__stdcall`, …).
    Msvc,
    /// Python ctypes function-type factories and library loaders.
    PythonCtypes,
}

/// One row of the spelling table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Spelling {
    /// Language of the spelling.
    pub language: Language,
    /// The spelling as written in source.
    pub spelling: &'static str,
    /// What it resolves to (convention ids, and on which targets).
    pub meaning: &'static str,
}

const fn row(language: Language, spelling: &'static str, meaning: &'static str) -> Spelling {
    Spelling {
        language,
        spelling,
        meaning,
    }
}

static SPELLINGS: [Spelling; 62] = [
    row(
        Language::Rust,
        "extern \"C\"",
        "the platform default (default_for)",
    ),
    row(
        Language::Rust,
        "extern \"system\"",
        "x86-stdcall on 32-bit Windows, else the platform default",
    ),
    row(
        Language::Rust,
        "extern \"cdecl\"",
        "x86 only: x86-cdecl-msvc on Windows, x86-cdecl-sysv elsewhere",
    ),
    row(
        Language::Rust,
        "extern \"stdcall\"",
        "x86 only: x86-stdcall",
    ),
    row(
        Language::Rust,
        "extern \"fastcall\"",
        "x86 only: x86-fastcall-msvc (msvc env) or x86-fastcall-gcc",
    ),
    row(
        Language::Rust,
        "extern \"thiscall\"",
        "x86 only: x86-thiscall",
    ),
    row(
        Language::Rust,
        "extern \"vectorcall\"",
        "x86-vectorcall / x86_64-vectorcall (unstable)",
    ),
    row(
        Language::Rust,
        "extern \"win64\"",
        "x86_64 only: x86_64-win64",
    ),
    row(
        Language::Rust,
        "extern \"sysv64\"",
        "x86_64 only: x86_64-sysv",
    ),
    row(
        Language::Rust,
        "extern \"aapcs\"",
        "arm only: arm-aapcs (soft-float base standard even on hard-float targets)",
    ),
    row(
        Language::Rust,
        "extern \"efiapi\"",
        "UEFI: x86_64-win64, x86-cdecl-msvc, aarch64-aapcs64, arm-aapcs",
    ),
    row(
        Language::Rust,
        "extern \"C-unwind\" (and other \"-unwind\" variants)",
        "as without -unwind",
    ),
    row(
        Language::Zig,
        "callconv(.c)",
        "the platform default (default_for)",
    ),
    row(Language::Zig, "callconv(.x86_64_sysv)", "x86_64-sysv"),
    row(Language::Zig, "callconv(.x86_64_win)", "x86_64-win64"),
    row(
        Language::Zig,
        "callconv(.x86_64_vectorcall)",
        "x86_64-vectorcall",
    ),
    row(Language::Zig, "callconv(.x86_sysv)", "x86-cdecl-sysv"),
    row(Language::Zig, "callconv(.x86_win)", "x86-cdecl-msvc"),
    row(Language::Zig, "callconv(.x86_stdcall)", "x86-stdcall"),
    row(
        Language::Zig,
        "callconv(.x86_fastcall)",
        "x86-fastcall-msvc",
    ),
    row(Language::Zig, "callconv(.x86_thiscall)", "x86-thiscall"),
    row(
        Language::Zig,
        "callconv(.x86_thiscall_mingw)",
        "x86-thiscall",
    ),
    row(Language::Zig, "callconv(.x86_vectorcall)", "x86-vectorcall"),
    row(Language::Zig, "callconv(.aarch64_aapcs)", "aarch64-aapcs64"),
    row(
        Language::Zig,
        "callconv(.aarch64_aapcs_darwin)",
        "aarch64-apple",
    ),
    row(Language::Zig, "callconv(.aarch64_aapcs_win)", "aarch64-win"),
    row(Language::Zig, "callconv(.arm_aapcs)", "arm-aapcs"),
    row(Language::Zig, "callconv(.arm_aapcs_vfp)", "arm-aapcs-vfp"),
    row(
        Language::Zig,
        "callconv(.riscv64_lp64)",
        "riscv64 default for the target's float ABI (lp64/lp64f/lp64d)",
    ),
    row(
        Language::Zig,
        "callconv(.riscv32_ilp32)",
        "riscv32 default for the target's float ABI",
    ),
    row(Language::Zig, "callconv(.powerpc64_elf)", "ppc64-elfv1"),
    row(Language::Zig, "callconv(.powerpc64_elf_v2)", "ppc64-elfv2"),
    row(Language::Zig, "callconv(.powerpc_sysv)", "ppc32-sysv"),
    row(Language::Zig, "callconv(.mips_o32)", "mips-o32"),
    row(Language::Zig, "callconv(.mips64_n32)", "mips64-n32"),
    row(Language::Zig, "callconv(.mips64_n64)", "mips64-n64"),
    row(Language::Zig, "callconv(.sparc_sysv)", "sparc-v8"),
    row(Language::Zig, "callconv(.sparc64_sysv)", "sparc64-v9"),
    row(Language::Zig, "callconv(.s390x_sysv)", "s390x-elf"),
    row(
        Language::Zig,
        "callconv(.loongarch64_lp64)",
        "loongarch64-lp64d",
    ),
    row(
        Language::Zig,
        "callconv(.winapi)",
        "x86-stdcall on x86, else the Windows default",
    ),
    row(
        Language::C,
        "__attribute__((cdecl))",
        "x86: the platform cdecl",
    ),
    row(Language::C, "__attribute__((stdcall))", "x86-stdcall"),
    row(Language::C, "__attribute__((fastcall))", "x86-fastcall-gcc"),
    row(Language::C, "__attribute__((thiscall))", "x86-thiscall"),
    row(
        Language::C,
        "__attribute__((vectorcall))",
        "x86-vectorcall / x86_64-vectorcall",
    ),
    row(Language::C, "__attribute__((regparm(3)))", "x86-regparm3"),
    row(Language::C, "__attribute__((ms_abi))", "x86_64-win64"),
    row(Language::C, "__attribute__((sysv_abi))", "x86_64-sysv"),
    row(Language::C, "__attribute__((pcs(\"aapcs\")))", "arm-aapcs"),
    row(
        Language::C,
        "__attribute__((pcs(\"aapcs-vfp\")))",
        "arm-aapcs-vfp",
    ),
    row(
        Language::Msvc,
        "__cdecl",
        "x86-cdecl-msvc; ignored (platform default) elsewhere",
    ),
    row(
        Language::Msvc,
        "__stdcall",
        "x86-stdcall; ignored elsewhere",
    ),
    row(
        Language::Msvc,
        "__fastcall",
        "x86-fastcall-msvc; ignored elsewhere",
    ),
    row(
        Language::Msvc,
        "__thiscall",
        "x86-thiscall; ignored elsewhere",
    ),
    row(
        Language::Msvc,
        "__vectorcall",
        "x86-vectorcall / x86_64-vectorcall",
    ),
    row(
        Language::PythonCtypes,
        "CFUNCTYPE",
        "the platform default C convention (cdecl on x86)",
    ),
    row(
        Language::PythonCtypes,
        "CDLL / cdll",
        "the platform default C convention",
    ),
    row(
        Language::PythonCtypes,
        "PYFUNCTYPE / PyDLL",
        "the platform default C convention",
    ),
    row(
        Language::PythonCtypes,
        "WINFUNCTYPE",
        "x86-stdcall on 32-bit Windows, else the platform default",
    ),
    row(
        Language::PythonCtypes,
        "WinDLL / windll / OleDLL",
        "x86-stdcall on 32-bit Windows, else the platform default",
    ),
    row(Language::Rust, "extern \"Rust\"", "no C convention (None)"),
];

/// The table of known spellings (for the chart and the docs).
pub fn spellings() -> &'static [Spelling] {
    &SPELLINGS
}

/// Strip decoration so `__attribute__((ms_abi))`, `ms_abi`, `__ms_abi__`, `extern "C"`,
/// `"C"`, `callconv(.c)` and `.c` compare equal to their bare names.
fn normalize(spelling: &str) -> String {
    let mut s: String = spelling
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect();
    for prefix in [
        "__attribute__((",
        "__declspec(",
        "extern",
        "callconv(",
        "ctypes.",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
        }
    }
    while s.ends_with(')') && s.matches('(').count() < s.matches(')').count() {
        s.pop();
    }
    let s = s.trim_start_matches('.');
    let s = s.strip_suffix("-unwind").unwrap_or(s);
    let s = if s.len() > 4 && s.starts_with("__") && s.ends_with("__") {
        s.get(2..s.len() - 2).unwrap_or(s)
    } else {
        s
    };
    s.to_string()
}

fn x86_only(target: &TargetSpec, c: &'static Convention) -> Option<&'static Convention> {
    (target.arch == Arch::X86)
        .then_some(c)
        .and_then(|c| by_id(c.id))
}

fn on(arch: Arch, target: &TargetSpec, c: &'static Convention) -> Option<&'static Convention> {
    (target.arch == arch).then_some(c).and_then(|c| by_id(c.id))
}

fn vectorcall(target: &TargetSpec) -> Option<&'static Convention> {
    match target.arch {
        Arch::X86 => by_id(x86::VECTORCALL_X86.id),
        Arch::X86_64 => by_id(x86::VECTORCALL_X64.id),
        _ => None,
    }
}

fn winapi(target: &TargetSpec) -> Option<&'static Convention> {
    if target.arch == Arch::X86 && target.os == Os::Windows {
        by_id(x86::STDCALL.id)
    } else {
        default_for(target)
    }
}

/// Resolve a language's spelling of a calling convention on `target`.
///
/// Returns `None` when the spelling is unknown, names no C convention (Rust `"Rust"`), or is
/// not valid for the target's architecture (e.g. Rust `"stdcall"` on aarch64). Spellings are
/// accepted with or without their syntax (`ms_abi`, `__attribute__((ms_abi))`; `C`,
/// `extern "C"`; `.c`, `callconv(.c)`).
pub fn from_spelling(
    language: Language,
    spelling: &str,
    target: &TargetSpec,
) -> Option<&'static Convention> {
    let s = normalize(spelling);
    let platform_cdecl = || {
        if target.os == Os::Windows {
            x86_only(target, &x86::CDECL_MSVC)
        } else {
            x86_only(target, &x86::CDECL_SYSV)
        }
    };
    match language {
        Language::Rust => match s.as_str() {
            "C" => default_for(target),
            "system" => winapi(target),
            "cdecl" => platform_cdecl(),
            "stdcall" => x86_only(target, &x86::STDCALL),
            "fastcall" if target.env == Env::Msvc => x86_only(target, &x86::FASTCALL_MSVC),
            "fastcall" => x86_only(target, &x86::FASTCALL_GCC),
            "thiscall" => x86_only(target, &x86::THISCALL),
            "vectorcall" => vectorcall(target),
            "win64" => on(Arch::X86_64, target, &x86::WIN64),
            "sysv64" => on(Arch::X86_64, target, &x86::SYSV64),
            "aapcs" => on(Arch::Arm, target, &arm::AAPCS),
            "efiapi" => match target.arch {
                Arch::X86_64 => by_id(x86::WIN64.id),
                Arch::X86 => by_id(x86::CDECL_MSVC.id),
                Arch::Aarch64 => by_id(aarch64::AAPCS64.id),
                Arch::Arm => by_id(arm::AAPCS.id),
                _ => default_for(target),
            },
            _ => None,
        },
        Language::Zig => match s.as_str() {
            "c" => default_for(target),
            "winapi" => winapi(target),
            "riscv64_lp64" if target.arch == Arch::Riscv64 => default_for(target),
            "riscv32_ilp32" if target.arch == Arch::Riscv32 => default_for(target),
            other => {
                let id = match other {
                    "x86_64_sysv" => "x86_64-sysv",
                    "x86_64_win" => "x86_64-win64",
                    "x86_64_vectorcall" => "x86_64-vectorcall",
                    "x86_sysv" => "x86-cdecl-sysv",
                    "x86_win" => "x86-cdecl-msvc",
                    "x86_stdcall" => "x86-stdcall",
                    "x86_fastcall" => "x86-fastcall-msvc",
                    "x86_thiscall" | "x86_thiscall_mingw" => "x86-thiscall",
                    "x86_vectorcall" => "x86-vectorcall",
                    "aarch64_aapcs" => "aarch64-aapcs64",
                    "aarch64_aapcs_darwin" => "aarch64-apple",
                    "aarch64_aapcs_win" => "aarch64-win",
                    "arm_aapcs" => "arm-aapcs",
                    "arm_aapcs_vfp" => "arm-aapcs-vfp",
                    "powerpc64_elf" => "ppc64-elfv1",
                    "powerpc64_elf_v2" => "ppc64-elfv2",
                    "powerpc_sysv" => "ppc32-sysv",
                    "mips_o32" => "mips-o32",
                    "mips64_n32" => "mips64-n32",
                    "mips64_n64" => "mips64-n64",
                    "sparc_sysv" => "sparc-v8",
                    "sparc64_sysv" => "sparc64-v9",
                    "s390x_sysv" => "s390x-elf",
                    "loongarch64_lp64" => "loongarch64-lp64d",
                    _ => return None,
                };
                by_id(id).filter(|c| c.arch == target.arch.as_str())
            }
        },
        Language::C => match s.as_str() {
            "cdecl" => platform_cdecl(),
            "stdcall" => x86_only(target, &x86::STDCALL),
            "fastcall" => x86_only(target, &x86::FASTCALL_GCC),
            "thiscall" => x86_only(target, &x86::THISCALL),
            "vectorcall" => vectorcall(target),
            "regparm(3)" => x86_only(target, &x86::REGPARM3),
            "ms_abi" => on(Arch::X86_64, target, &x86::WIN64),
            "sysv_abi" => on(Arch::X86_64, target, &x86::SYSV64),
            "pcs(aapcs)" => on(Arch::Arm, target, &arm::AAPCS),
            "pcs(aapcs-vfp)" => on(Arch::Arm, target, &arm::AAPCS_VFP),
            _ => None,
        },
        Language::Msvc => {
            let s = s.trim_start_matches('_');
            let on_x86 = target.arch == Arch::X86;
            match s {
                "cdecl" if on_x86 => by_id(x86::CDECL_MSVC.id),
                "stdcall" if on_x86 => by_id(x86::STDCALL.id),
                "fastcall" if on_x86 => by_id(x86::FASTCALL_MSVC.id),
                "thiscall" if on_x86 => by_id(x86::THISCALL.id),
                "vectorcall" => vectorcall(target),
                // Accepted and ignored on x64 and Arm: the platform default applies.
                "cdecl" | "stdcall" | "fastcall" | "thiscall" => default_for(target),
                _ => None,
            }
        }
        Language::PythonCtypes => match s.as_str() {
            "CFUNCTYPE" | "CDLL" | "cdll" | "PYFUNCTYPE" | "PyDLL" | "pydll" => default_for(target),
            "WINFUNCTYPE" | "WinDLL" | "windll" | "OleDLL" | "oledll" => winapi(target),
            _ => None,
        },
    }
}
