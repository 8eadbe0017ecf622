defmodule Mix.Tasks.Callconv.Check do
  @shortdoc "Checks native libraries (NIFs) before the BEAM loads them"

  @moduledoc """
  Checks native libraries statically and predicts whether the BEAM will load them.

      $ mix callconv.check [PATH...] [--format text|json] [--nif-version X.Y] [--otp N]

  With no `PATH`, inside a Mix project, it checks every native library (`.so`, `.dylib`,
  `.dll`) under the `priv` directories of the project and of its dependencies in the build
  path (`_build/<env>/lib/*/priv`). Paths may be files or directories; directories are
  searched for native libraries.

  ## Command line options

    * `--format` - `text` (the default) prints a table per library; `json` prints one JSON
      document to standard output (report schema v1, documented in the README)
    * `--nif-version` - check against this NIF version (such as `2.17`) instead of the
      running VM's
    * `--otp` - the OTP release to name in the report (such as `27`)

  ## Exit status

    * `0` - no library has an error finding
    * `1` - at least one library has an error finding or could not be read
    * `2` - usage error (unknown option, bad value, no library found)
  """

  use Mix.Task

  @switches [format: :string, nif_version: :string, otp: :string]
  @native_exts ~w(.so .dylib .dll)

  @impl true
  def run(args) do
    {opts, paths} =
      try do
        OptionParser.parse!(args, strict: @switches)
      rescue
        e in OptionParser.ParseError -> usage_error(Exception.message(e))
      end

    format = parse_format(Keyword.get(opts, :format, "text"))
    check_opts = check_opts(opts)

    # Compiling (ours and the project's) may print; JSON on stdout must stay one document.
    libraries =
      quiet_if(format == :json, fn ->
        Mix.Task.run("app.config")

        case paths do
          [] -> project_libraries()
          paths -> Enum.flat_map(paths, &expand_path/1)
        end
      end)

    if libraries == [] do
      usage_error("no native libraries found; give the paths of .so, .dylib or .dll files")
    end

    {output, summary} = Callconv.check_document(libraries, format, check_opts)
    Mix.shell().info(String.trim_trailing(output))

    if summary.failed > 0, do: exit({:shutdown, 1})
    :ok
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

  defp parse_format("text"), do: :text
  defp parse_format("json"), do: :json
  defp parse_format(other), do: usage_error("--format must be text or json, got: #{other}")

  defp check_opts(opts) do
    Enum.flat_map(opts, fn
      {:nif_version, v} ->
        if v =~ ~r/^\d+\.\d+$/,
          do: [nif_version: v],
          else: usage_error("--nif-version takes MAJOR.MINOR, such as 2.17; got: #{v}")

      {:otp, v} ->
        [otp_release: v]

      _ ->
        []
    end)
  end

  defp project_libraries do
    if Mix.Project.get() do
      Mix.Project.build_path()
      |> Path.join("lib/*/priv")
      |> Path.wildcard()
      |> Enum.flat_map(&native_files/1)
    else
      usage_error("no PATH given and not inside a Mix project")
    end
  end

  defp expand_path(path) do
    if File.dir?(path), do: native_files(path), else: [path]
  end

  defp native_files(dir) do
    dir
    |> Path.join("**/*")
    |> Path.wildcard()
    |> Enum.filter(&(Path.extname(&1) in @native_exts and File.regular?(&1)))
    |> Enum.sort()
  end

  defp usage_error(message) do
    Mix.raise("mix callconv.check: #{message}", exit_status: 2)
  end
end
