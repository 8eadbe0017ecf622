defmodule Callconv.CLI do
  @moduledoc """
  The command line that `mix callconv.check` and `mix callconv.lock` share: the options
  (declared once, with their help), parsing them, finding the libraries they name, resolving
  the target and the policy, checking the libraries, and the exit status. The tasks are thin
  over these functions: each adds only its output.
  """

  alias Callconv.{Lock, Policy, Report, Scan}

  @lock_rules ~w(lock-hash-changed lock-not-locked)

  # The options, declared once: OptionParser's strict switches, the aliases, and the help
  # (mix callconv.check's moduledoc, shown by `mix help callconv.check` and
  # `mix callconv.check --help`) are all generated from this table. Adding an option is one
  # entry here (and its use below).
  # {name, type, alias, value placeholder, description}
  @options [
    {:format, :string, nil, "FORMAT",
     "`text` (the default) prints a table per library; `json` prints one JSON document " <>
       "(report schema v1, see `docs/reference/schema.md`); `sarif` prints a SARIF 2.1.0 log for " <>
       "code-scanning upload; `github` prints GitHub Actions workflow commands " <>
       "(`::error file=...,title=...::message`) that annotate the files"},
    {:output, :string, :o, "FILE",
     "write the document to this file instead of standard output (a summary line is still " <>
       "printed)"},
    {:verbose, :boolean, :v, nil,
     "with `text`, also print the machine-code analysis of every entry point (what it " <>
       "reads, which callee-saved registers it changes, the convention it matches) and the " <>
       "instruction-set floor; by default only the findings are shown"},
    {:release, :string, nil, "DIR", "check an assembled release directory (see above)"},
    {:deps, :boolean, nil, nil, "with no `PATH`, skip the dependencies' libraries"},
    {:strict, :boolean, nil, nil, "warnings fail, as errors do"},
    {:ignore, :keep, nil, "RULE[:GLOB]",
     "drop a rule's findings: `RULE`, or `RULE:GLOB` for libraries whose path ends in the " <>
       "glob (`*`, `**`, `?`); repeatable. The text output says how many findings were hidden"},
    {:locked, :boolean, nil, nil,
     "refuse libraries whose SHA-256 is not in the lockfile (see `mix callconv.lock` and " <>
       "`Callconv.Lock`); `callconv: [locked: true]` turns it on for the project's libraries " <>
       "and `--release`, not for `PATH`s named on the command line; `--no-locked` turns it off"},
    {:lockfile, :string, nil, "FILE",
     "the lockfile to use (default `priv/callconv.lock` in the project root, or " <>
       "`callconv: [lockfile: ...]`); implies `--locked`"},
    {:nif_version, :string, nil, "X.Y", "check against this NIF version (such as `2.17`)"},
    {:otp, :string, nil, "N",
     "check against this OTP release (such as `27`), from the built-in table"},
    {:erts, :string, nil, "DIR", "check against the runtime of this ERTS directory"},
    {:target, :string, nil, "TRIPLE",
     "check for another platform, given as a target triple (such as " <>
       "`aarch64-unknown-linux-gnu`, `armv7-unknown-linux-gnueabihf`, `x86_64-apple-darwin`): " <>
       "architecture, OS, C library and ABI variant come from it; combine with `--otp` or " <>
       "`--erts` for the runtime's versions. An Apple triple may carry the macOS version " <>
       "(`aarch64-apple-macosx13.0`)"},
    {:min_os, :string, nil, "VERSION",
     "the oldest macOS the target runs, such as `13.0`: a library built for a newer one " <>
       "fails with `macos-version-too-new`"},
    {:cpu, :string, nil, "CPU",
     "the oldest CPU the target runs, for the `isa-level` rule, as compilers name it: " <>
       "`cortex-a53` (`cortex-a53+crypto` with the cryptography extensions), `cortex-a7`, " <>
       "`arm1176jzf-s`, `rv64gc`, `power9`, `z14`, `mips64r6`, `x86-64-v3`. Code that needs " <>
       "more is an error (a warning when it probes the CPU first). Without it: the CPU a " <>
       "`--target` triple names (`riscv64gc-...`), else this machine's when checking for it, " <>
       "else the platform's usual floor, assumed (warnings only). A name callconv does not " <>
       "know for the target's architecture is a usage error that lists the names it knows"},
    {:root, :string, nil, "DIR",
     "resolve each library's dependencies in this target root: a sysroot (an unpacked root " <>
       "file system; every absolute path and link is looked up inside it) or a release " <>
       "directory (its `$ORIGIN` paths, then this machine's system libraries), and report " <>
       "missing ones (`needed-missing`) and symbol versions the resolved files lack " <>
       "(`symbol-version-missing`) whatever the target. Without it, dependencies are " <>
       "resolved only when the target is this machine"},
    {:module, :string, nil, "MODULE",
     "check every library as the NIF that this module (such as `MyApp.Native`) loads with " <>
       "`load_nif/2`: its name and functions must match (`nif-module-mismatch`, " <>
       "`nif-function-not-in-module`, and `nif-not-declared` when it declares its NIFs)"},
    {:ebin, :keep, nil, "DIR",
     "also look for compiled modules in this directory (repeatable), for the cross-check of " <>
       "each NIF with the module of the same name"},
    {:isolate, :boolean, nil, nil,
     "run each check in callconv's command-line tool, a separate OS process, instead of the " <>
       "NIF inside this VM (same results; zero native code in the VM)"},
    {:probe, :boolean, nil, nil,
     "also run each NIF's constructors and `nif_init` in a separate, resource-limited, " <>
       "sandboxed process and compare its entry with the static decode (off by default: " <>
       "nothing from the libraries is ever run without it). The sandbox (Linux: Landlock and " <>
       "seccomp) lets the library read only itself and its dependencies, write nothing, use " <>
       "no network, start no process and change no privilege; it cannot hide CPU timing or " <>
       "stop a kernel exploit. Where it cannot be set up (macOS, Windows, a kernel without " <>
       "Landlock, a container that forbids seccomp), nothing runs and the report says what " <>
       "is missing (`nif-probe-refused`)"},
    {:probe_unsandboxed, :boolean, nil, nil,
     "probe even without the sandbox, with your full rights (each library gets a " <>
       "`nif-probe-unsandboxed` warning): only in a disposable machine"},
    {:exports, :boolean, nil, nil,
     "check every exported function of each library (any C library, not only NIFs) against " <>
       "its platform's C conventions, and list the conventions each fits (cdecl, stdcall or " <>
       "fastcall on 32-bit x86; System V or Win64 on x86-64); no NIF check runs (rule " <>
       "`export-no-convention` for a function that fits none)"},
    {:help, :boolean, :h, nil, "print this help"}
  ]

  @switches for {name, type, _, _, _} <- @options, do: {name, type}
  @aliases for {name, _, short, _, _} <- @options, short, do: {short, name}

  flag = fn
    :deps, _ ->
      "--no-deps"

    name, value ->
      "--" <>
        String.replace(Atom.to_string(name), "_", "-") <> if(value, do: " " <> value, else: "")
  end

  @usage "mix callconv.check [PATH...] " <>
           Enum.map_join(Enum.chunk_every(@options, 4), "\n                         ", fn chunk ->
             Enum.map_join(chunk, " ", fn {name, _, _, value, _} -> "[#{flag.(name, value)}]" end)
           end)

  # Each entry wrapped at 92 columns, continuation lines under the text of the bullet.
  @options_doc Enum.map_join(@options, "\n", fn {name, _, short, value, doc} ->
                 short = if short, do: " (`-#{short}`)", else: ""

                 "`#{flag.(name, value)}`#{short} - #{doc}"
                 |> String.split(" ")
                 |> Enum.reduce([], fn
                   word, [line | rest] when byte_size(line) + byte_size(word) < 87 ->
                     [line <> " " <> word | rest]

                   word, lines ->
                     [word | lines]
                 end)
                 |> Enum.reverse()
                 |> Enum.map_join("\n    ", & &1)
                 |> then(&("  * " <> &1))
               end)

  @doc "The synopsis of `mix callconv.check`, every option in brackets."
  @spec usage() :: String.t()
  def usage, do: @usage

  @doc "One Markdown bullet per option, for a task's help."
  @spec options_doc() :: String.t()
  def options_doc, do: @options_doc

  @doc """
  Parses the command line of `task` (`"callconv.check"`, or another task that takes its
  options): `{options, paths}`. An unknown option or a bad value is a usage error (exit
  status 2); `--help` in another task prints that task's help and stops it (status 0).

      iex> Callconv.CLI.parse_args!(["--strict", "--ignore", "not-a-nif", "a.so"], "callconv.check")
      {[strict: true, ignore: "not-a-nif"], ["a.so"]}
  """
  @spec parse_args!([String.t()], String.t()) :: {keyword(), [String.t()]}
  def parse_args!(args, task) do
    parsed =
      try do
        OptionParser.parse!(args, strict: @switches, aliases: @aliases)
      rescue
        e in OptionParser.ParseError -> usage_error(task, Exception.message(e))
      end

    # Another task sharing these options (mix callconv.lock) shows its own help and stops
    # there, rather than go on and do its work.
    if task != "callconv.check" and elem(parsed, 0)[:help] do
      Mix.shell().info(Mix.Task.moduledoc(Mix.Task.get!(task)) || "")
      exit({:shutdown, 0})
    end

    parsed
  end

  @doc """
  Finds the libraries the parsed `opts` and `paths` name (the project's, a release's, or the
  paths), resolves the target and the policy (`callconv:` in `mix.exs`, then the options),
  and checks them all. Returns each library's report with the policy applied (or its error),
  and the context the output needs: `:target`, `:root` (the project root), `:policy`, and
  `:hidden` (the findings `--ignore` dropped). A bad option value is a usage error of `task`.
  """
  @spec checked(keyword(), [String.t()], String.t()) ::
          {[Report.t() | Callconv.Error.t()],
           %{
             target: Callconv.Target.t(),
             root: String.t(),
             policy: Policy.t(),
             hidden: non_neg_integer()
           }}
  def checked(opts, paths, task \\ "callconv.check") do
    # The :callconv compiler leaves the libraries to this task (which checks them all, and
    # must run when the lock no longer matches: mix callconv.lock is how one approves them).
    Process.put(:callconv_task_checks, true)

    try do
      Mix.Task.run("app.config")
    after
      Process.delete(:callconv_task_checks)
    end

    config = Callconv.Config.read()
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
      Keyword.drop(check_opts, [:erts, :otp_release, :nif_version, :triple, :min_os, :cpu]) ++
        [target: target]

    # The project's lock governs the project's libraries, not files named on the command line.
    project_scope? = paths == [] or opts[:release] != nil
    policy = policy(opts, config, root, task, project_scope?)
    beams = Map.merge(Scan.beam_index(beam_roots), ebin_index(Keyword.get_values(opts, :ebin)))
    check_opts = check_opts ++ module_opts(opts[:module], beams)

    progress = progress(opts[:format] in [nil, "text"], length(libraries))

    checked =
      Scan.check(libraries, check_opts, beams,
        progress: progress,
        loaders: loaders(beam_roots, config),
        cache: Callconv.Cache.dir()
      )

    progress.(:done, length(libraries), nil)

    results =
      Enum.map(checked, fn {path, result} ->
        case result do
          {:ok, report} -> Policy.apply(report, policy, Lock.key(path, root))
          {:error, error} -> error
        end
      end)

    hidden =
      Enum.sum(
        for {path, {:ok, report}} <- checked,
            do:
              Enum.count(
                report.findings,
                &Policy.ignored?(policy, &1.rule, path, Lock.key(path, root))
              )
      )

    {results, %{target: target, root: root, policy: policy, hidden: hidden}}
  end

  # More libraries than this get a progress line, on a terminal only.
  @progress_threshold 5

  # A progress line on standard error, overwritten in place, only where a person watches:
  # text output with standard output and standard error on a terminal (Elixir enables ANSI
  # only then). Never in a pipe, in CI logs, or around a JSON, SARIF or annotation document.
  defp progress(text?, total) do
    if text? and total > @progress_threshold and IO.ANSI.enabled?() do
      fn
        :done, _total, _path ->
          IO.write(:stderr, "\r\e[2K")

        i, total, path ->
          IO.write(:stderr, "\r\e[2Kcallconv: checking #{i}/#{total} #{Path.basename(path)}")
      end
    else
      fn _, _, _ -> :ok end
    end
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

  # Which module loads which library, from the project's code and callconv: [nifs: ...].
  defp loaders(beam_roots, config) do
    app = Mix.Project.get() && Mix.Project.config()[:app]
    {loaders, _guarded} = Scan.loaders(beam_roots, nifs: config[:nifs] || [], app: app)
    loaders
  end

  defp project_apps do
    if Mix.Project.umbrella?() do
      Mix.Project.apps_paths() |> Map.keys()
    else
      [Mix.Project.config()[:app]]
    end
  end

  # --ebin DIR: modules compiled elsewhere, by name, like the build's own lib/*/ebin.
  defp ebin_index(dirs) do
    for dir <- dirs, beam <- Path.wildcard(Path.join(dir, "*.beam")), into: %{} do
      {Path.basename(beam, ".beam"), beam}
    end
  end

  # --module M: every library is checked as the NIF that M loads, against M's functions and
  # declared NIFs when its .beam is known.
  defp module_opts(nil, _beams), do: []

  defp module_opts(module, beams) do
    name =
      if module =~ ~r/^[A-Z]/ and not String.starts_with?(module, "Elixir."),
        do: "Elixir." <> module,
        else: module

    from_beam =
      case Map.get(beams, name) do
        beam when is_binary(beam) -> Scan.module_check_opts(beam)
        nil -> []
      end

    [module: name] ++ from_beam
  end

  defp check_opts(opts, config, erts, task) do
    target = Keyword.get(config, :target, [])

    from_config =
      for {key, value} <- target,
          key in [:nif_version, :otp_release, :erts, :triple, :min_os, :cpu],
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

        {:min_os, v} ->
          if v =~ ~r/^\d+(\.\d+)*$/,
            do: [min_os: v],
            else: usage_error(task, "--min-os takes a macOS version, such as 13.0; got: #{v}")

        {:cpu, cpu} ->
          [cpu: cpu]

        {:isolate, true} ->
          [isolation: :process]

        {:probe, true} ->
          if opts[:probe_unsandboxed], do: [], else: [probe: true]

        {:probe_unsandboxed, true} ->
          [probe: :unsandboxed]

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

  defp policy(opts, config, root, task, project_scope?) do
    ignore = Keyword.get(config, :ignore, []) ++ Keyword.get_values(opts, :ignore)
    known = MapSet.new(Callconv.rules(), & &1.id)

    for entry <- ignore, rule = ignore_rule(entry), not MapSet.member?(known, rule) do
      usage_error(task, "--ignore names an unknown rule: #{rule}")
    end

    overrides =
      [
        ignore: Keyword.get_values(opts, :ignore),
        locked: Keyword.get(opts, :locked, project_scope? and Lock.locked?(config)),
        lockfile: opts[:lockfile]
      ] ++ if(Keyword.has_key?(opts, :strict), do: [strict: opts[:strict]], else: [])

    case Callconv.Config.project_policy(config, root, overrides) do
      {:ok, policy} -> policy
      {:error, why} -> usage_error(task, why)
    end
  end

  defp ignore_rule(entry) do
    case Policy.parse_ignore(entry) do
      {rule, _} -> rule
      rule -> rule
    end
  end

  @doc """
  The exit status of a check: 0 when no library is refused under `policy`, 3 when every
  refused library is refused only by the lockfile, else 1.
  """
  @spec exit_status([Report.t() | Callconv.Error.t()], Policy.t()) :: 0 | 1 | 3
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

  @doc """
  Stops `task` with a usage error: `message` printed after `mix TASK:`, exit status 2.
  """
  @spec usage_error(String.t(), String.t()) :: no_return()
  def usage_error(task, message) do
    Mix.raise("mix #{task}: #{message}", exit_status: 2)
  end
end
