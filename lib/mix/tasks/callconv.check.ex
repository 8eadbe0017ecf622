defmodule Mix.Tasks.Callconv.Check do
  @shortdoc "Checks native libraries (NIFs) before the BEAM loads them"

  @moduledoc """
  Checks native libraries statically and predicts whether the BEAM will load them.

      $ mix callconv.check [PATH...] [--format text|json|sarif|github] [--output FILE]
                           [--release DIR] [--no-deps] [--strict] [--ignore RULE[:PATH]]
                           [--verbose]
                           [--locked] [--lockfile FILE]
                           [--nif-version X.Y] [--otp N] [--erts DIR] [--target TRIPLE]
                           [--root DIR] [--exports]

  ## What is checked

    * with no `PATH`, inside a Mix project: every native library (`.so`, `.dylib`, `.dll`)
      under the `priv` directories of the project and of its dependencies in the build path
      (`_build/<env>/lib/*/priv`); with `--no-deps`, the project's own applications only
    * `--release DIR`: every native library of an assembled release (`DIR/lib/*/priv`),
      checked against the release's own ERTS (`DIR/erts-*`) when it includes one
    * `PATH...`: files, or directories to search

  Each NIF is cross-checked against the compiled module of the same name (in the build's or
  the release's `lib/*/ebin`): every function of its table must exist in that module.

  ## Command line options

    * `--format` - `text` (the default) prints a table per library; `json` prints one JSON
      document (report schema v1, see the README); `sarif` prints a SARIF 2.1.0 log for
      code-scanning upload (rules, levels and file locations); `github` prints GitHub Actions
      workflow commands (`::error file=...,title=...::message`) that annotate the files
    * `--verbose` (`-v`) - with `text`, also print the machine-code analysis of every entry
      point (what it reads, which callee-saved registers it changes, the convention it
      matches) and the instruction-set floor; by default only the findings are shown
    * `--output` (`-o`) - write the document to this file instead of standard output (a
      summary line is still printed)
    * `--release` - check an assembled release directory (see above)
    * `--no-deps` - with no `PATH`, skip the dependencies' libraries
    * `--strict` - warnings fail, as errors do
    * `--ignore` - drop a rule's findings: `RULE`, or `RULE:PATH` for libraries whose path
      ends in the glob `PATH` (`*`, `**`, `?`); repeatable
    * `--locked` - refuse libraries whose SHA-256 is not in the lockfile (see
      `mix callconv.lock` and `Callconv.Lock`)
    * `--lockfile` - the lockfile to use (default `callconv.lock` in the project root);
      implies `--locked`
    * `--nif-version` - check against this NIF version (such as `2.17`)
    * `--otp` - check against this OTP release (such as `27`), from the built-in table
    * `--module` - check every library as the NIF that this module (such as `MyApp.Native`)
      loads with `load_nif/2`: its name and functions must match (`nif-module-mismatch`,
      `nif-function-not-in-module`)
    * `--ebin` - also look for compiled modules in this directory (repeatable), for the
      cross-check of each NIF with the module of the same name
    * `--isolate` - run each check in callconv's command-line tool, a separate OS process,
      instead of the NIF inside this VM (same results; zero native code in the VM)
    * `--probe` - also run each NIF's `nif_init` in a separate, resource-limited process and
      compare its entry with the static decode (off by default: nothing from the libraries is
      ever run without it)
    * `--erts` - check against the runtime of this ERTS directory
    * `--target` - check for another platform, given as a target triple (such as
      `aarch64-unknown-linux-gnu`, `armv7-unknown-linux-gnueabihf`, `x86_64-apple-darwin`):
      architecture, OS, C library and ABI variant come from it; combine with `--otp` or
      `--erts` for the runtime's versions
    * `--exports` - check every exported function of each library (any C library, not only
      NIFs) against its platform's C conventions, and list the conventions each fits (cdecl,
      stdcall or fastcall on 32-bit x86; System V or Win64 on x86-64); no NIF check runs
      (rule `export-no-convention` for a function that fits none)
    * `--root` - resolve each library's dependencies in this target root: a sysroot (an
      unpacked root file system; every absolute path and link is looked up inside it) or a
      release directory (its `$ORIGIN` paths, then this machine's system libraries), and
      report missing ones (`needed-missing`) and symbol versions the resolved files lack
      (`symbol-version-missing`) whatever the target. Without it, dependencies are resolved
      only when the target is this machine

  ## Configuration

  The project's `mix.exs` can set defaults under `callconv:`; command-line options win:

      def project do
        [
          app: :my_app,
          callconv: [
            strict: true,
            ignore: ["not-a-nif", {"nif-entry-unreadable", "deps/**"}],
            locked: true,                # lockfile: "callconv.lock"
            target: [otp_release: "26"], # or nif_version: / erts: / triple:
            root: "/srv/images/bookworm" # resolve dependencies there (like --root)
          ]
        ]
      end

  Standard error shows progress when more than five libraries are checked; text output is
  coloured only when ANSI is enabled (a terminal).

  ## Exit status

    * `0` - no library fails
    * `1` - at least one library has an error finding (or, with `--strict`, a warning), or
      could not be read
    * `2` - usage error (unknown option, bad value, no library found, unreadable lockfile)
    * `3` - with `--locked`: every library passes its checks, but at least one is not the
      locked build (`lock-hash-changed`, `lock-not-locked`)
  """

  use Mix.Task

  alias Callconv.{Lock, Policy, Report, Scan}

  @switches [
    format: :string,
    output: :string,
    release: :string,
    deps: :boolean,
    strict: :boolean,
    ignore: :keep,
    locked: :boolean,
    lockfile: :string,
    nif_version: :string,
    otp: :string,
    erts: :string,
    target: :string,
    isolate: :boolean,
    probe: :boolean,
    ebin: :keep,
    module: :string,
    root: :string,
    exports: :boolean,
    verbose: :boolean
  ]
  @aliases [o: :output, v: :verbose]
  @formats %{"text" => :text, "json" => :json, "sarif" => :sarif, "github" => :github}
  @lock_rules ~w(lock-hash-changed lock-not-locked)

  @impl true
  def run(args) do
    {opts, paths} = parse_args!(args, "callconv.check")
    format = parse_format(Keyword.get(opts, :format, "text"))

    # Compiling (ours and the project's) may print; machine output must stay one document.
    {results, ctx} =
      quiet_if(format != :text and opts[:output] == nil, fn -> checked(opts, paths) end)

    {output, summary} =
      Callconv.render(results, format,
        target: ctx.target,
        root: ctx.root,
        verbose: opts[:verbose] == true
      )

    output = if format == :text, do: colour(output), else: output

    case opts[:output] do
      nil ->
        Mix.shell().info(String.trim_trailing(output))

      file ->
        File.mkdir_p!(Path.dirname(file))
        File.write!(file, output)
        Mix.shell().info("Wrote #{file}: " <> summary_line(summary))
    end

    case exit_status(results, ctx.policy) do
      0 -> :ok
      status -> exit({:shutdown, status})
    end
  end

  @doc false
  # Shared with mix callconv.lock: parse, resolve scope, target and policy, check.
  def parse_args!(args, task) do
    try do
      OptionParser.parse!(args, strict: @switches, aliases: @aliases)
    rescue
      e in OptionParser.ParseError -> usage_error(task, Exception.message(e))
    end
  end

  @doc false
  def checked(opts, paths, task \\ "callconv.check") do
    Mix.Task.run("app.config")
    config = project_config()
    root = File.cwd!()

    {libraries, beam_roots, erts} = scope(opts, paths, task)

    if libraries == [] do
      usage_error(task, "no native libraries found; give the paths of .so, .dylib or .dll files")
    end

    check_opts = check_opts(opts, config, erts, task)

    target =
      try do
        Callconv.target(check_opts)
      rescue
        e in ArgumentError -> usage_error(task, Exception.message(e))
      end
      |> case do
        {:ok, target} -> target
        {:error, error} -> usage_error(task, error.message)
      end

    check_opts =
      Keyword.drop(check_opts, [:erts, :otp_release, :nif_version, :triple]) ++ [target: target]

    policy = policy(opts, config, root, task)
    beams = Map.merge(Scan.beam_index(beam_roots), ebin_index(Keyword.get_values(opts, :ebin)))
    check_opts = check_opts ++ module_opts(opts[:module], beams)

    results =
      libraries
      |> Scan.check(check_opts, beams, progress: Scan.stderr_progress())
      |> Enum.map(fn {path, result} ->
        case result do
          {:ok, report} -> Policy.apply(report, policy, Lock.key(path, root))
          {:error, error} -> error
        end
      end)

    {results, %{target: target, root: root, policy: policy}}
  end

  defp scope(opts, paths, task) do
    cond do
      release = opts[:release] ->
        unless File.dir?(Path.join(release, "lib")) do
          usage_error(task, "--release #{release} is not an assembled release (no lib/ in it)")
        end

        erts = release |> Path.join("erts-*") |> Path.wildcard() |> List.first()

        {Scan.lib_priv_files(release) ++ Enum.flat_map(paths, &Scan.native_files/1), [release],
         erts}

      paths != [] ->
        beam_roots = if Mix.Project.get(), do: [Mix.Project.build_path()], else: []
        {Enum.flat_map(paths, &Scan.native_files/1), beam_roots, nil}

      Mix.Project.get() ->
        apps = if opts[:deps] == false, do: project_apps(), else: :all
        build = Mix.Project.build_path()
        {Scan.lib_priv_files(build, apps), [build], nil}

      true ->
        usage_error(task, "no PATH given and not inside a Mix project")
    end
  end

  defp project_apps do
    if Mix.Project.umbrella?() do
      Mix.Project.apps_paths() |> Map.keys()
    else
      [Mix.Project.config()[:app]]
    end
  end

  @doc false
  def project_config do
    config = if Mix.Project.get(), do: Mix.Project.config()[:callconv] || [], else: []

    unless Keyword.keyword?(config) do
      Mix.raise("callconv: in mix.exs must be a keyword list, got: #{inspect(config)}")
    end

    config
  end

  # --ebin DIR: modules compiled elsewhere, by name, like the build's own lib/*/ebin.
  defp ebin_index(dirs) do
    for dir <- dirs, beam <- Path.wildcard(Path.join(dir, "*.beam")), into: %{} do
      {Path.basename(beam, ".beam"), beam}
    end
  end

  # --module M: every library is checked as the NIF that M loads, against M's functions
  # when its .beam is known.
  defp module_opts(nil, _beams), do: []

  defp module_opts(module, beams) do
    name =
      if module =~ ~r/^[A-Z]/ and not String.starts_with?(module, "Elixir."),
        do: "Elixir." <> module,
        else: module

    functions =
      with beam when is_binary(beam) <- Map.get(beams, name),
           {:ok, functions} <- Scan.beam_functions(beam) do
        [functions: functions]
      else
        _ -> []
      end

    [module: name] ++ functions
  end

  defp check_opts(opts, config, erts, task) do
    target = Keyword.get(config, :target, [])

    from_config =
      for {key, value} <- target,
          key in [:nif_version, :otp_release, :erts, :triple],
          do: {key, value}

    from_args =
      Enum.flat_map(opts, fn
        {:nif_version, v} ->
          if v =~ ~r/^\d+\.\d+$/,
            do: [nif_version: v],
            else: usage_error(task, "--nif-version takes MAJOR.MINOR, such as 2.17; got: #{v}")

        {:otp, v} ->
          if v =~ ~r/^\d+$/,
            do: [otp_release: v],
            else: usage_error(task, "--otp takes an OTP major release, such as 27; got: #{v}")

        {:erts, dir} ->
          [erts: dir]

        {:target, triple} ->
          [triple: triple]

        {:isolate, true} ->
          [isolation: :process]

        {:probe, true} ->
          [probe: true]

        {:exports, true} ->
          [analyse: :exports]

        {:root, dir} ->
          [root: root_dir!(dir, task)]

        _ ->
          []
      end)

    from_config =
      case config[:root] do
        nil -> from_config
        dir -> from_config ++ [root: root_dir!(dir, task)]
      end

    from_release = if erts, do: [erts: erts], else: []
    Keyword.merge(from_config, from_release) |> Keyword.merge(from_args)
  end

  defp root_dir!(dir, task) do
    if File.dir?(dir),
      do: dir,
      else: usage_error(task, "--root #{dir} is not a directory")
  end

  defp policy(opts, config, root, task) do
    ignore = Keyword.get(config, :ignore, []) ++ Keyword.get_values(opts, :ignore)
    known = MapSet.new(Callconv.rules(), & &1.id)

    for entry <- ignore, rule = ignore_rule(entry), not MapSet.member?(known, rule) do
      usage_error(task, "--ignore names an unknown rule: #{rule}")
    end

    lockfile =
      cond do
        file = opts[:lockfile] -> file
        Keyword.get(opts, :locked, Keyword.get(config, :locked, false)) -> config[:lockfile]
        true -> false
      end

    lock =
      case lockfile do
        false ->
          nil

        file ->
          file = Path.expand(file || "callconv.lock", root)

          case Lock.read(file) do
            {:ok, lock} -> lock
            {:error, why} -> usage_error(task, why <> " (write it with mix callconv.lock)")
          end
      end

    Policy.new(
      strict: Keyword.get(opts, :strict, Keyword.get(config, :strict, false)),
      ignore: ignore,
      lock: lock
    )
  end

  defp ignore_rule(entry) do
    case Policy.parse_ignore(entry) do
      {rule, _} -> rule
      rule -> rule
    end
  end

  @doc false
  def exit_status(results, %Policy{} = policy) do
    failed = Enum.filter(results, &Policy.refused?/1)

    cond do
      failed == [] -> 0
      Enum.all?(failed, &lock_only?(&1, policy.strict)) -> 3
      true -> 1
    end
  end

  # Refused only because of the lockfile: without the lock findings it would pass.
  defp lock_only?(%Report{findings: findings}, strict) do
    rest = Enum.reject(findings, &(&1.rule in @lock_rules))

    length(rest) < length(findings) and
      not Enum.any?(rest, &(&1.severity == :error or (strict and &1.severity == :warning)))
  end

  defp lock_only?(_, _strict), do: false

  defp summary_line(s),
    do: "#{s.checked} checked, #{s.passed} passed, #{s.warned} warned, #{s.failed} failed"

  defp colour(output) do
    if IO.ANSI.enabled?() do
      Regex.replace(~r/  (PASS|WARN|FAIL)$/m, output, fn _, verdict ->
        colour = %{"PASS" => :green, "WARN" => :yellow, "FAIL" => :red}[verdict]
        ("  " <> IO.ANSI.format([colour, verdict], true)) |> IO.iodata_to_binary()
      end)
    else
      output
    end
  end

  defp quiet_if(false, fun), do: fun.()

  defp quiet_if(true, fun) do
    shell = Mix.shell()
    Mix.shell(Mix.Shell.Quiet)

    try do
      fun.()
    after
      Mix.shell(shell)
    end
  end

  defp parse_format(format) do
    Map.get(@formats, format) ||
      usage_error(
        "callconv.check",
        "--format must be text, json, sarif or github, got: #{format}"
      )
  end

  @doc false
  def usage_error(task, message) do
    Mix.raise("mix #{task}: #{message}", exit_status: 2)
  end
end
