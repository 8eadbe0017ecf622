defmodule Callconv do
  @moduledoc """
  Checks a native library before the BEAM loads it: will it load on this runtime, and is it
  what it claims to be?

  callconv reads the file statically (it never loads or runs it). It decodes the format,
  architecture and dependencies, finds the NIF's `ErlNifEntry` by following `nif_init`, and
  applies rules that predict what `:erlang.load_nif/2` would say, and when it would crash the
  VM instead of saying anything.

      {:ok, report} = Callconv.check("priv/native/libmy_nif.so")
      report.verdict
      #=> :pass

  See `Callconv.Report` for what a report holds and `docs/reference/rules.md` for every rule id.
  """

  alias Callconv.{Native, Options, Report, Target}

  @typedoc "A path to a `.so`, `.dylib` or `.dll`. Binaries are passed byte for byte."
  @type path :: Path.t()

  @typedoc """
  Options:

    * `:target` - a `Callconv.Target` to check against (default: `Callconv.Target.current/0`,
      the running VM, with the exact `enif_*` symbols its `beam.smp` exports)
    * `:erts` - check against the runtime of this ERTS directory (a release's `erts-X.Y.Z`,
      or an OTP root) instead
    * `:otp_release` - check against this OTP release (21 to 29, as `"27"` or `27`) from the
      built-in table of NIF versions and `enif_*` functions
    * `:nif_version` - override the target's NIF version, as `"2.17"`
    * `:triple` - check for another platform: a target triple such as
      `"aarch64-unknown-linux-gnu"` or `"x86_64-apple-darwin"` sets the architecture, OS, C
      library and ABI variant (`Callconv.Target.for_triple/2`); the runtime's versions stay
    * `:min_os` - the oldest macOS the target runs, as `"13.0"` (an Apple triple may carry
      it too, as `"aarch64-apple-macosx13.0"`): a Mach-O library whose minimum OS version is
      newer fails with `macos-version-too-new`
    * `:cpu` - the oldest CPU the target runs, as compilers name it: `"cortex-a53"` (add
      `"+crypto"` where it has the cryptography extensions), `"cortex-a7"`, `"arm1176jzf-s"`,
      `"rv64gc"`, `"power9"`, `"z14"`, `"mips64r6"`, `"x86-64-v3"`
      (`Callconv.Target.with_cpu/2`). Reachable code that needs more is an `isa-level` error
      (a warning when it probes the CPU first). Without it: the CPU a `:triple` names
      (`riscv64gc-...`), else this machine's when checking for it, else the platform's usual
      floor, assumed (its findings are warnings). A name callconv does not know for the
      target's architecture raises `ArgumentError` listing the names it knows
    * `:module` - the module that will call `load_nif/2`: the library must then be a NIF for
      exactly that module (rules `not-a-nif` as an error, `nif-module-mismatch`)
    * `:functions` - that module's functions as `{name, arity}`: every NIF must be one of
      them (rule `nif-function-not-in-module`); given `:module` alone, the module's own
      functions are used if it is loaded (not inside its own `@on_load`: pass them there)
    * `:nifs` - the functions that module declares as NIFs (OTP 25's `-nifs`, Elixir's
      persisted `@nifs`), as `{name, arity}`, or `false` when it declares none: every NIF must
      then be one of them (rule `nif-not-declared`, for targets of OTP 25 and later). Given
      `:module` alone, they are read from the module's `.beam` on the code path, if found
    * `:probe` - `true` to also run the library's constructors and `nif_init` in a separate,
      short-lived OS process with stub `enif_*` symbols and resource limits (never inside the
      VM), and compare the entry it returns with the static decode (rules
      `nif-probe-mismatch`, `nif-probe-failed`). Host architecture only. The process runs in a
      sandbox (Linux: Landlock and seccomp; see "The opt-in probe and its sandbox" in
      `docs/design/robustness.md`): it can read only the library and its dependencies, write
      nothing, reach no network and start no process. Where that sandbox cannot be set up (another OS, a kernel without Landlock, a
      container that forbids seccomp) nothing is run and the report says what is missing
      (`nif-probe-refused`). `:unsandboxed` runs it anyway with your full rights, reported as
      `nif-probe-unsandboxed`: only in a disposable machine. Off by default: without it
      callconv never executes anything from the library.
    * `:isolation` - `:vm` (the default: the NIF, on a dirty scheduler) or `:process`: run
      the check in callconv's command-line tool, a separate OS process, and read the result
      back, for zero native risk inside the VM. Same report either way (a test compares the
      two on the whole fixture corpus); a process start costs a few milliseconds.
    * `:root` - the target's file system, to resolve the library's dependencies in: a
      sysroot (an unpacked root file system such as a `docker export`; every absolute path
      and link is looked up inside it) or a release directory (it holds `lib/` and
      `releases/`: what the NIF's `$ORIGIN` paths find in it, then this machine's system
      libraries). Missing dependencies (`needed-missing`) and symbol versions the resolved
      files lack (`symbol-version-missing`) are then reported whatever the target. Without
      it, dependencies are resolved only when the target is this machine.
    * `:analyse` - what the machine-code analysis covers: `:nif` (the default: a NIF's entry
      points against the convention the BEAM calls them with, and the NIF checks) or
      `:exports` (every exported function of any library against each C convention of its
      platform: the report's `:mode` is `:exports`, each of its `:functions` lists the
      convention ids it fits in `:matches`, `:exports` holds the counts, and no NIF check
      runs, so a plain library gets no NIF finding). Bounded by counted budgets per function
      and per library; a cut is reported (rule `analysis-capped`).
  """
  @type option ::
          {:target, Target.t()}
          | {:erts, Path.t()}
          | {:otp_release, String.t() | pos_integer()}
          | {:nif_version, String.t()}
          | {:triple, String.t()}
          | {:min_os, String.t()}
          | {:cpu, String.t()}
          | {:module, module() | String.t()}
          | {:functions, [{atom() | String.t(), arity()}]}
          | {:nifs, [{atom() | String.t(), arity()}] | false}
          | {:probe, boolean() | :unsandboxed}
          | {:isolation, :vm | :process}
          | {:root, Path.t()}
          | {:analyse, :nif | :exports}

  @doc """
  Checks the library at `path`.

  Returns `{:ok, %Callconv.Report{}}` whenever the file could be read as a native library,
  whatever its verdict, and `{:error, %Callconv.Error{}}` when it could not (missing,
  unreadable, not a regular file, empty, not a native library, truncated).

  ## Examples

      iex> {:error, error} = Callconv.check("/nonexistent/libfoo.so")
      iex> error.reason
      :"not-found"

      iex> {:error, error} = Callconv.check(System.tmp_dir!())
      iex> error.reason
      :"not-regular"
  """
  @spec check(path(), [option()]) :: {:ok, Report.t()} | {:error, Callconv.Error.t()}
  def check(path, opts \\ []) do
    with {:ok, options} <- Options.resolve(opts) do
      path = Options.path_binary(path)
      request = Options.request(options)
      probe_exe = options.probe && elem(options.probe, 0)

      case options.isolation do
        :vm ->
          with {:ok, json} <- Native.check(path, request, probe_exe, options.root),
               do: {:ok, Callconv.Wire.report(json)}

        :process ->
          Callconv.Isolated.check(path, request, probe_exe, options.root)
      end
    end
  end

  @doc """
  Like `check/2`, but returns the report or raises the `Callconv.Error`.

  ## Examples

      iex> Callconv.check!("/nonexistent/libfoo.so")
      ** (Callconv.Error) could not stat /nonexistent/libfoo.so: No such file or directory (os error 2)
  """
  @spec check!(path(), [option()]) :: Report.t()
  def check!(path, opts \\ []) do
    case check(path, opts) do
      {:ok, report} -> report
      {:error, error} -> raise error
    end
  end

  @doc """
  Checks several libraries and renders one document, as `:text` or `:json` (schema v1).

  Returns `{output, summary}`, where `summary` counts the libraries `:checked`, `:passed`,
  `:warned` and `:failed` (unreadable ones count as failed). The Mix task uses this.

  ## Examples

      iex> {json, summary} = Callconv.check_document(["/nonexistent.so"], :json)
      iex> summary
      %{checked: 1, passed: 0, warned: 0, failed: 1}
      iex> json =~ ~s("schema": 1)
      true
  """
  @spec check_document([path()], :text | :json, [option()]) ::
          {String.t(),
           %{
             checked: non_neg_integer(),
             passed: non_neg_integer(),
             warned: non_neg_integer(),
             failed: non_neg_integer()
           }}
  def check_document(paths, format, opts \\ []) when format in [:text, :json] do
    target =
      case Options.target(opts) do
        {:ok, target} -> target
        {:error, error} -> raise error
      end

    root = Options.root(opts)

    # Checked as check/2 checks, rendered as render/3 renders: one path for both.
    paths
    |> Enum.map(fn path ->
      case check(path, target: target, root: root) do
        {:ok, report} -> report
        {:error, error} -> error
      end
    end)
    |> render(format, target: target)
  end

  @doc """
  The calling-convention model: every convention callconv knows, or those of one architecture
  (Rust `target_arch` spelling, such as `"aarch64"`).

  ## Examples

      iex> [sysv] = Callconv.conventions("x86_64") |> Enum.filter(&(&1.id == "x86_64-sysv"))
      iex> sysv.int_args
      ["rdi", "rsi", "rdx", "rcx", "r8", "r9"]
      iex> sysv.callee_saved
      ["rbx", "rbp", "r12", "r13", "r14", "r15"]
      iex> sysv.red_zone
      128

      iex> Callconv.conventions("z80")
      []
  """
  @spec conventions(String.t() | nil) :: [Callconv.Convention.t()]
  def conventions(arch \\ nil) when is_binary(arch) or is_nil(arch) do
    Native.conventions(arch)
  end

  @doc """
  The runtime `check/2` checks against for these options (`:target`, `:erts`,
  `:otp_release`, `:nif_version`, `:triple`, `:min_os`, `:cpu`; others are ignored).

  ## Examples

      iex> {:ok, target} = Callconv.target(nif_version: "2.14")
      iex> {target.nif_version, target.source}
      {"2.14", :explicit}

      iex> {:ok, target} = Callconv.target(triple: "aarch64-unknown-linux-gnu", cpu: "cortex-a53")
      iex> {target.arch, target.cpu}
      {:aarch64, "cortex-a53"}
  """
  @spec target([option()]) :: {:ok, Target.t()} | {:error, Callconv.Error.t()}
  def target(opts \\ []) do
    Options.target(opts)
  end

  @typedoc "A rendering format of `render/3`."
  @type format :: :text | :json | :sarif | :github

  @doc """
  Renders reports and errors (as `check/2` returns them, possibly changed by a
  `Callconv.Policy`) as one document.

  Formats: `:text` (a table per library), `:json` (report schema v1), `:sarif` (SARIF 2.1.0,
  for code-scanning upload) and `:github` (GitHub Actions workflow annotations). Returns
  `{output, summary}` like `check_document/3`; the summary is computed from the verdicts.

  Options:

    * `:target` - the `Callconv.Target` the reports were checked against (default: the
      running VM)
    * `:root` - the project root: SARIF and GitHub output name libraries under it by a
      relative path (default: none, absolute paths stay absolute)
    * `:verbose` - with `:text`, also the machine-code analysis of every entry point and the
      instruction-set floor (default: `false`, findings only)

  ## Examples

      iex> {:error, error} = Callconv.check("/nonexistent/libfoo.so")
      iex> {out, summary} = Callconv.render([error], :github)
      iex> summary.failed
      1
      iex> out =~ "::error file=/nonexistent/libfoo.so,title=callconv library-unreadable::"
      true
  """
  @spec render([Report.t() | Callconv.Error.t()], format(), keyword()) ::
          {String.t(),
           %{
             checked: non_neg_integer(),
             passed: non_neg_integer(),
             warned: non_neg_integer(),
             failed: non_neg_integer()
           }}
  def render(results, format, opts \\ []) when format in [:text, :json, :sarif, :github] do
    opts = Keyword.validate!(opts, [:target, :root, verbose: false])
    target = Keyword.get_lazy(opts, :target, &Target.current/0)
    {reports, errors} = Enum.split_with(results, &match?(%Report{}, &1))
    root = if opts[:root], do: Options.path_binary(opts[:root])

    {output, checked, passed, warned, failed} =
      Native.render_document(
        reports,
        errors,
        target,
        Atom.to_string(format),
        root,
        opts[:verbose] == true
      )

    {output, %{checked: checked, passed: passed, warned: warned, failed: failed}}
  end

  @doc """
  The rule catalogue: every rule id a report can name, with its default severity, what it
  catches and how to fix it. The last entries (`library-unreadable`, `lock-hash-changed`,
  `lock-not-locked`) are raised by the Elixir side rather than by the checks.

  ## Examples

      iex> rule = Enum.find(Callconv.rules(), &(&1.id == "nif-version-too-new"))
      iex> rule.severity
      :error
  """
  @spec rules() :: [
          %{
            id: String.t(),
            severity: Callconv.Finding.severity(),
            summary: String.t(),
            fix: String.t()
          }
        ]
  def rules, do: Native.rules()

  @doc """
  The guarded drop-in for `:erlang.load_nif/2`: checks the library first, and loads it only
  if it is safe to.

  `path` is the library's path without extension, as `:erlang.load_nif/2` takes it (`.so` is
  appended, `.dll` on Windows). The library is checked against the running VM and the calling
  module (its name and functions). If nothing refuses it, `:erlang.load_nif(path, load_info)`
  is called from the calling module and its result returned. Otherwise the library is not
  loaded, the findings are logged through `Logger`, and the result is
  `{:error, {:callconv, reason}}`, where `reason` is the `Callconv.Report` (rule findings,
  lockfile mismatch) or the `Callconv.Error` (unreadable, truncated or malformed file: never
  handed to the real loader, which can die of SIGBUS on a truncated file).

  It is a macro because `:erlang.load_nif/2` binds the library to the module that calls it:
  `require Callconv` first. `use Callconv.Guard` writes the whole `@on_load` function.

  ## Options

    * `:on_warning` - what a warning does: `:load` (the default: log it, then load),
      `:quiet` (load without logging) or `:refuse`
    * `:strict` - `true` is `on_warning: :refuse`
    * `:ignore` - rule ids whose findings are dropped, such as `["nif-entry-unreadable"]`
    * `:lockfile` - path of a `callconv.lock`: refuse a library whose SHA-256 is not the one
      locked for its path (rule `lock-hash-changed`) or that is not locked at all
      (`lock-not-locked`)
    * `:cache` - reuse the verdict of an unchanged file (default `true`; see
      `Callconv.Guard` for how the cache is keyed and invalidated)
    * `:functions` - the module's `{name, arity}` list, when the module cannot be asked
      (default: `:erlang.get_module_info(__MODULE__, :functions)`)
    * `:nifs` - the functions the module declares as NIFs (`-nifs`), or `false` for none
      (default: read from the module's `.beam` on the code path)
    * `:cpu` - check the code against this CPU (as the `:cpu` option of `check/2`) instead of
      the machine's own, read from `/proc/cpuinfo` where it can be; a name callconv does not
      know for this machine's architecture raises `ArgumentError`

  ## Examples

      defmodule MyApp.Native do
        require Callconv
        @on_load :load_nif

        def load_nif do
          path = :filename.join(:code.priv_dir(:my_app), ~c"native/libmy_nif")
          Callconv.load_nif(path, 0, lockfile: Application.app_dir(:my_app, "priv/callconv.lock"))
        end

        def add(_a, _b), do: :erlang.nif_error(:not_loaded)
      end

  A module written this way is not known to the project scan (`mix callconv.check`, the
  release step) as the loader of its library, as a `use Callconv.Guard` module is: name it
  in `mix.exs` with `callconv: [nifs: [{MyApp.Native, "priv/native/libmy_nif"}]]`, so the
  scan checks the library against it.
  """
  defmacro load_nif(path, load_info, opts \\ []) do
    # Marks the caller's .beam: Callconv.Release.check/1 then fails a release that would
    # boot this guard without callconv in it (a runtime: false dependency).
    with module when module != nil <- __CALLER__.module,
         nil <- Module.get_attribute(module, :callconv_guarded) do
      Module.register_attribute(module, :callconv_guarded, persist: true)
      Module.put_attribute(module, :callconv_guarded, true)
    end

    quote do
      case Callconv.Guard.verify(__MODULE__, unquote(path), unquote(opts)) do
        {:ok, nif_path} -> :erlang.load_nif(nif_path, unquote(load_info))
        {:error, _} = refused -> refused
      end
    end
  end
end
