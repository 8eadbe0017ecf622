defmodule Callconv.Report do
  @moduledoc """
  What callconv says about one native library.

  The fields mirror one library object of the JSON report (schema v1, see `docs/reference/schema.md`):

    * `:path` - the path as given
    * `:sha256` - SHA-256 of the whole file, lowercase hex
    * `:verdict` - `:pass`, `:warn` (warnings only) or `:fail` (at least one error)
    * `:kind` - `:nif`, `:driver`, `:library` or `:unknown`
    * `:format` - `:elf`, `:macho`, `:"macho-fat"`, `:pe` or `:unknown`
    * `:arch` - Rust `target_arch` spelling, such as `:x86_64` or `:aarch64`
    * `:bits` - 32 or 64
    * `:endian` - `:little` or `:big`
    * `:abi` - the platform calling-convention id, or `nil`
    * `:needed` - the libraries it needs, in file order
    * `:nif` - the decoded entry as a `Callconv.Nif`, or `nil`
    * `:findings` - a list of `Callconv.Finding`, most severe first
    * `:libc` - the C library it was linked against: `"gnu"` (glibc), `"musl"`, `"macos"`,
      `"ucrt"` or `"msvcrt"` (Windows), or `nil` when it needs none callconv knows
    * `:floors` - the newest version required of each versioned runtime library (ELF
      `VERNEED`), as `%{glibc: "2.34", glibcxx: nil, cxxabi: nil, gcc: "3.0"}`
    * `:functions` - the machine-code analysis of each entry point (empty when the
      architecture is not analysed): maps with `:name`, `:address`, `:observed`
      (`:args_read`, `:stack_args_read`, `:callee_saved_touched`, `:cleanup`,
      `:stack_balanced`, `:exits`), `:expected_convention`, `:matches_best`, `:capped` and
      `:instructions`
    * `:isa` - the instruction-set floor of the reachable code (`:features`,
      `:x86_64_level`, `:guarded`, `:guard`, `:instructions`, `:capped`), or `nil`
    * `:mode` - what the machine-code analysis covered: `:nif` (the entry points of a NIF,
      the default) or `:exports` (`analyse: :exports`: every exported function; no NIF check)
    * `:exports` - with `mode: :exports`, the counts: `:conventions` (the candidates, the
      platform's default first), `:exports`, `:data`, `:aliases`, `:analysed`,
      `:not_analysed` (left out once the library's budget was spent), `:capped`, `:errors`
      (functions that fit no candidate), `:matched` (functions per convention id),
      `:instructions`, `:states`, `:budget_exhausted`; `nil` otherwise. Each element of
      `:functions` then also has `:matches`, the convention ids it fits
    * `:gnu_properties` - the ELF `.note.gnu.property` markers as
      `%{x86_isa_needed: "x86-64-v3" | nil, x86_features: ["ibt", "shstk"], aarch64_features: []}`,
      or `nil` when the file has none
    * `:elf` - ELF only (else `nil`): `%{soname:, runpath: [..], rpath: [..], interpreter:,
      arm_eabi:, mips_nan:}` (`arm_eabi` is the ARM EABI version, `nil` on other
      architectures; `mips_nan` is the MIPS NaN encoding, `:legacy` or `:ieee2008`, `nil`
      on other architectures)
    * `:macho` - Mach-O only (else `nil`): `%{file_type: "dylib" | "bundle" | ..., platform:,
      min_os: "11.0", sdk: "14.2", install_name:, rpaths: [..], weak_dylibs: [..],
      reexported_dylibs: [..], fixups: "chained" | "opcodes" | "none", slices: [..]}`; for a
      universal file `slices` lists every slice (`%{arch:, abi_variant:, primary:, file_type:,
      min_os:, sdk:, needed:}`, the one checked with `primary: true`), else it is empty
    * `:pe` - PE only (else `nil`): `%{subsystem: "windows-gui" | ..., dynamic_base:,
      nx_compat:, guard_cf:, high_entropy_va:, delay_imports: [..]}`
  """

  @enforce_keys [:path, :sha256, :verdict, :kind, :format, :arch, :bits, :endian]
  defstruct [
    :path,
    :sha256,
    :verdict,
    :kind,
    :format,
    :arch,
    :bits,
    :endian,
    :abi,
    needed: [],
    nif: nil,
    findings: [],
    libc: nil,
    floors: %{glibc: nil, glibcxx: nil, cxxabi: nil, gcc: nil},
    gnu_properties: nil,
    functions: [],
    isa: nil,
    elf: nil,
    macho: nil,
    pe: nil,
    mode: :nif,
    exports: nil
  ]

  @type verdict :: :pass | :warn | :fail
  @type t :: %__MODULE__{
          path: String.t(),
          sha256: String.t(),
          verdict: verdict(),
          kind: :nif | :driver | :library | :unknown,
          format: :elf | :macho | :"macho-fat" | :pe | :unknown,
          arch: atom(),
          bits: 32 | 64,
          endian: :little | :big,
          abi: String.t() | nil,
          needed: [String.t()],
          nif: Callconv.Nif.t() | nil,
          findings: [Callconv.Finding.t()],
          libc: String.t() | nil,
          floors: %{
            glibc: String.t() | nil,
            glibcxx: String.t() | nil,
            cxxabi: String.t() | nil,
            gcc: String.t() | nil
          },
          gnu_properties:
            %{
              x86_isa_needed: String.t() | nil,
              x86_features: [String.t()],
              aarch64_features: [String.t()]
            }
            | nil,
          functions: [map()],
          isa: map() | nil,
          elf: map() | nil,
          macho: map() | nil,
          pe: map() | nil,
          mode: :nif | :exports,
          exports: map() | nil
        }

  @doc """
  The findings of the given severity.

  ## Examples

      iex> finding = %Callconv.Finding{rule: "not-a-nif", severity: :info, message: "m", hint: "h"}
      iex> report = %Callconv.Report{path: "a.so", sha256: "", verdict: :pass, kind: :library,
      ...>   format: :elf, arch: :x86_64, bits: 64, endian: :little, findings: [finding]}
      iex> Callconv.Report.findings(report, :info) |> Enum.map(& &1.rule)
      ["not-a-nif"]
      iex> Callconv.Report.findings(report, :error)
      []
  """
  @spec findings(t(), Callconv.Finding.severity()) :: [Callconv.Finding.t()]
  def findings(%__MODULE__{findings: findings}, severity) do
    Enum.filter(findings, &(&1.severity == severity))
  end
end
