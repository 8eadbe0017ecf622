defmodule Mix.Tasks.Compile.Callconv do
  @shortdoc "Checks the project's native libraries on every mix compile"

  @moduledoc """
  A Mix compiler that checks the project's native libraries whenever they change.

  Add it last, after whatever builds the libraries:

      def project do
        [
          app: :my_app,
          compilers: Mix.compilers() ++ [:callconv],
          deps: [{:callconv, "~> 0.1"}]
        ]
      end

  Keep callconv a runtime dependency (no `runtime: false`) if any module uses the guard
  (`use Callconv.Guard`, `Callconv.load_nif/3`): the guard runs when the release boots, so
  callconv must be in it. Only a project that uses the Mix tasks alone may add
  `runtime: false`.

  On each `mix compile` it checks the native libraries (`.so`, `.dylib`, `.dll`) under the
  application's `priv` directory in the build (`_build/<env>/lib/<app>/priv`), skipping every
  library whose size, modification time and SHA-256 are unchanged since the last run (a
  manifest in the build directory, `compile.callconv`). Each NIF is cross-checked against the
  compiled module of the same name. Error findings fail the compilation; warnings are printed
  as compiler warnings (with `callconv: [strict: true]`, they fail it too). The `callconv:`
  configuration of `mix.exs` applies (see `mix callconv.check`), the lock included: with
  `callconv: [locked: true]` a library that is not the locked build fails the compilation
  (`lock-hash-changed`, `lock-not-locked`), and so does a missing lockfile, until
  `mix callconv.lock` approves the build. When `mix callconv.check` or `mix callconv.lock`
  compiles the project, this compiler leaves the checks to them.

  `mix compile --force` checks everything again; `mix clean` removes the manifest.
  """

  use Mix.Task.Compiler

  alias Callconv.{Lock, Policy, Report, Scan}
  alias Mix.Task.Compiler.Diagnostic

  @manifest "compile.callconv"
  @manifest_version 3

  @impl true
  def manifests, do: [manifest()]

  defp manifest, do: Path.join(Mix.Project.manifest_path(), @manifest)

  @impl true
  def clean do
    File.rm(manifest())
    :ok
  end

  @impl true
  def run(args) do
    if Process.get(:callconv_task_checks, false) do
      # Compiling for mix callconv.check or mix callconv.lock, which check every library.
      {:noop, []}
    else
      check(args)
    end
  end

  defp check(args) do
    {opts, _, _} = OptionParser.parse(args, switches: [force: :boolean])
    config = Callconv.Config.read()
    libraries = Scan.lib_priv_files(Mix.Project.build_path(), [Mix.Project.config()[:app]])
    root = File.cwd!()

    case Callconv.Config.project_policy(config, root) do
      {:ok, policy} ->
        check_libraries(libraries, config, policy, root, opts[:force])

      {:error, message} ->
        diagnostic = diagnostic(Lock.path(config, nil, root), :error, message)
        print(diagnostic)
        {:error, [diagnostic]}
    end
  end

  defp check_libraries(libraries, config, policy, root, force) do
    # A changed lock (or policy) is a change to every library's verdict.
    lock_digest = policy.lock && :erlang.phash2(policy.lock)
    {old_digest, old} = if force, do: {nil, %{}}, else: read_manifest()
    old = if old_digest == lock_digest, do: old, else: %{}

    {stale, fresh} = Enum.split_with(libraries, &stale?(&1, old))

    if stale == [] do
      write_manifest(lock_digest, Map.take(old, libraries))
      {:noop, []}
    else
      beams = Scan.beam_index([Mix.Project.build_path()])

      {loaders, _guarded} =
        Scan.loaders([Mix.Project.build_path()],
          nifs: config[:nifs] || [],
          app: Mix.Project.config()[:app]
        )

      # --force checks again from scratch; else an unchanged file's report is a lookup.
      cache = if force, do: nil, else: Callconv.Cache.dir()

      checked =
        for {path, result} <-
              Scan.check(stale, check_opts(config), beams, loaders: loaders, cache: cache) do
          result =
            case result do
              {:ok, report} -> Policy.apply(report, policy, Lock.key(path, root))
              {:error, error} -> error
            end

          {path, result}
        end

      diagnostics = Enum.flat_map(checked, fn {path, result} -> diagnostics(path, result) end)
      Enum.each(diagnostics, &print/1)

      # Only libraries that did not fail are remembered: a failing one is checked again.
      entries =
        for {path, result} <- checked, not Policy.refused?(result), into: Map.take(old, fresh) do
          {path, identity(path, result.sha256)}
        end

      write_manifest(lock_digest, entries)

      if Enum.any?(checked, fn {_, result} -> Policy.refused?(result) end),
        do: {:error, diagnostics},
        else: {:ok, diagnostics}
    end
  end

  defp check_opts(config) do
    target = Keyword.get(config, :target, [])

    opts =
      for {key, value} <- target, key in [:nif_version, :otp_release, :erts], do: {key, value}

    # This checks for this machine's platform: a CPU configured with a triple is another's.
    case {Callconv.Config.cpu(config), target[:triple]} do
      {cpu, nil} when is_binary(cpu) -> opts ++ [cpu: cpu]
      _ -> opts
    end
  end

  # Unchanged when size and mtime match and the file was last written before the second it
  # was recorded in; otherwise the hash decides. Modification times have one-second steps
  # here, so a library rewritten within the second it was recorded (a quick rebuild of the
  # same size) would look unchanged by size and mtime alone.
  defp stale?(path, old) do
    case {Map.get(old, path), File.stat(path, time: :posix)} do
      {{size, mtime, _sha, recorded}, {:ok, %{size: size, mtime: mtime}}} when mtime < recorded ->
        false

      {{size, _mtime, sha, _recorded}, {:ok, %{size: size}}} ->
        sha256(path) != sha

      _ ->
        true
    end
  end

  defp identity(path, sha) do
    {:ok, stat} = File.stat(path, time: :posix)
    {stat.size, stat.mtime, sha, System.os_time(:second)}
  end

  defp sha256(path) do
    case Callconv.Native.file_sha256(path) do
      {:ok, sha} -> sha
      {:error, _} -> nil
    end
  end

  defp diagnostics(path, %Callconv.Error{} = error) do
    [diagnostic(path, :error, "[library-unreadable] #{error.message}")]
  end

  defp diagnostics(path, %Report{} = report) do
    for finding <- report.findings, finding.severity in [:error, :warning] do
      severity =
        if finding.severity == :warning and report.verdict == :fail and
             Report.findings(report, :error) == [],
           do: :error,
           else: finding.severity

      diagnostic(path, severity, Policy.finding_line(finding))
    end
  end

  defp diagnostic(path, severity, message) do
    %Diagnostic{
      compiler_name: "callconv",
      file: path,
      position: nil,
      severity: severity,
      message: message
    }
  end

  defp print(%Diagnostic{} = d) do
    prefix = if d.severity == :error, do: "error", else: "warning"

    Mix.shell().error("#{prefix}: callconv #{Path.relative_to_cwd(d.file)}: #{d.message}")
  end

  defp read_manifest do
    with {:ok, binary} <- File.read(manifest()),
         {@manifest_version, digest, entries} when is_map(entries) <-
           safe_binary_to_term(binary) do
      {digest, entries}
    else
      _ -> {nil, %{}}
    end
  end

  defp safe_binary_to_term(binary) do
    :erlang.binary_to_term(binary, [:safe])
  rescue
    ArgumentError -> nil
  end

  defp write_manifest(lock_digest, entries) do
    File.mkdir_p!(Path.dirname(manifest()))
    File.write!(manifest(), :erlang.term_to_binary({@manifest_version, lock_digest, entries}))
  end
end
