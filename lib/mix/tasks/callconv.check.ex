defmodule Mix.Tasks.Callconv.Check do
  @shortdoc "Checks native libraries (NIFs) before the BEAM loads them"

  # The options and their help are Callconv.CLI's, shared with mix callconv.lock.
  @usage Callconv.CLI.usage()
  @options_doc Callconv.CLI.options_doc()

  @help """
  Checks native libraries statically and predicts whether the BEAM will load them.

      $ #{@usage}

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

  #{@options_doc}

  ## Configuration

  The project's `mix.exs` can set defaults under `callconv:`; command-line options win:

      def project do
        [
          app: :my_app,
          callconv: [
            strict: true,
            ignore: ["not-a-nif", {"nif-entry-unreadable", "deps/**"}],
            locked: true,                # lockfile: "priv/callconv.lock"
            target: [otp_release: "26"], # or nif_version: / erts: / triple: / min_os: / cpu:
            root: "/srv/images/bookworm", # resolve dependencies there (like --root)
            # which module loads which library, for those not loaded by use Callconv.Guard
            nifs: [{MyApp.Nif, "priv/native/libmy_nif"}]
          ]
        ]
      end

  On a terminal, standard error shows a progress line (overwritten in place) when more than
  five libraries are checked, and the text output is coloured; neither happens in a pipe, in
  CI logs or with another format.

  ## Exit status

    * `0` - no library fails
    * `1` - at least one library has an error finding (or, with `--strict`, a warning), or
      could not be read
    * `2` - usage error (unknown option, bad value, no library found, unreadable lockfile)
    * `3` - with `--locked`: every library passes its checks, but at least one is not the
      locked build (`lock-hash-changed`, `lock-not-locked`)
  """
  @moduledoc @help

  use Mix.Task

  alias Callconv.CLI

  @formats %{"text" => :text, "json" => :json, "sarif" => :sarif, "github" => :github}

  @impl true
  def run(args) do
    {opts, paths} = CLI.parse_args!(args, "callconv.check")

    if opts[:help] do
      Mix.shell().info(@help)
    else
      check_and_report(opts, paths)
    end
  end

  defp check_and_report(opts, paths) do
    format = parse_format(Keyword.get(opts, :format, "text"))

    # Compiling (ours and the project's) may print; machine output must stay one document.
    {results, ctx} =
      quiet_if(format != :text and opts[:output] == nil, fn -> CLI.checked(opts, paths) end)

    # SARIF and annotations must name files of the repository, not their copies in _build.
    rendered = if format in [:sarif, :github], do: source_paths(results, ctx.root), else: results

    {output, summary} =
      Callconv.render(rendered, format,
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

    if format == :text and ctx.hidden > 0 do
      Mix.shell().info(hidden_line(ctx.hidden))
    end

    case CLI.exit_status(results, ctx.policy) do
      0 -> :ok
      status -> exit({:shutdown, status})
    end
  end

  # Each library's path as the repository knows it: a copy under _build/ENV/lib/APP/priv (or a
  # release's lib/APP-VSN/priv) becomes the source file it was copied from, relative to the
  # project root, when that file exists (the project's own priv/, an umbrella app's, a dep's).
  defp source_paths(results, root) do
    sources = app_sources(root)

    Enum.map(results, fn result ->
      case source_path(result.path, root, sources) do
        nil -> result
        source -> %{result | path: source}
      end
    end)
  end

  defp app_sources(root) do
    if Mix.Project.get() do
      own =
        if Mix.Project.umbrella?(),
          do: Mix.Project.apps_paths(),
          else: %{Mix.Project.config()[:app] => root}

      for {app, dir} <- Map.merge(Mix.Project.deps_paths(), own),
          into: %{},
          do: {Atom.to_string(app), Path.expand(dir, root)}
    else
      %{}
    end
  end

  @doc false
  def source_path(path, root, sources) do
    with [_, app, rest] <-
           Regex.run(~r"(?:^|/)(?:_build/[^/]+/)?lib/([^/]+)/priv/(.+)$", Path.expand(path)),
         app = Map.get_lazy(sources, app, fn -> Map.get(sources, release_app(app)) end),
         true <- is_binary(app),
         source = Path.join([app, "priv", rest]),
         true <- File.regular?(source),
         rel when rel != source <- Path.relative_to(source, root) do
      rel
    else
      _ -> nil
    end
  end

  # A release names each application's directory APP-VSN.
  defp release_app(dir), do: String.replace(dir, ~r/-\d[^\/]*$/, "")

  defp hidden_line(1), do: "1 finding hidden by --ignore"
  defp hidden_line(n), do: "#{n} findings hidden by --ignore"

  @doc false
  # Kept for callers outside callconv; Callconv.Config.read/0 is the one reader.
  def project_config, do: Callconv.Config.read()

  defp summary_line(s),
    do: "#{s.checked} checked, #{s.passed} passed, #{s.warned} warned, #{s.failed} failed"

  defp colour(output) do
    if IO.ANSI.enabled?() do
      Regex.replace(~r/  (PASS|WARN|FAIL)$/m, output, fn _, verdict ->
        colour = %{"PASS" => :green, "WARN" => :yellow, "FAIL" => :red}[verdict]
        # IO.ANSI.format/2 returns iodata, not a binary: flatten it before it meets <>.
        IO.iodata_to_binary(["  ", IO.ANSI.format([colour, verdict], true)])
      end)
    else
      output
    end
  end

  # What compiling prints goes to stderr meanwhile, through this process's group leader (which
  # the processes it starts inherit). Not by swapping in Mix.Shell.Quiet: Mix.shell/1 is
  # VM-wide, so every other process printing during the check (another task's whole JSON
  # document, on a loaded machine where the check runs long) would be silenced too.
  defp quiet_if(false, fun), do: fun.()

  defp quiet_if(true, fun) do
    leader = Process.group_leader()
    Process.group_leader(self(), Process.whereis(:standard_error))

    try do
      fun.()
    after
      Process.group_leader(self(), leader)
    end
  end

  defp parse_format(format) do
    Map.get(@formats, format) ||
      CLI.usage_error(
        "callconv.check",
        "--format must be text, json, sarif or github, got: #{format}"
      )
  end
end
