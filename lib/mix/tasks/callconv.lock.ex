defmodule Mix.Tasks.Callconv.Lock do
  @shortdoc "Writes priv/callconv.lock: the approved native libraries and their hashes"

  @moduledoc """
  Checks the project's native libraries and writes `priv/callconv.lock`, which records for each
  approved library its path, SHA-256, size, architecture and ABI, NIF module and version, and
  verdict (format: `Callconv.Lock`).

      $ mix callconv.lock [PATH...] [--release DIR] [--no-deps] [--lockfile FILE]
                          [--strict] [--ignore RULE[:PATH]] [--nif-version X.Y] [--otp N] [--erts DIR]

  It takes the scope, target and policy options of `mix callconv.check` (and its `callconv:`
  configuration in `mix.exs`). A library is approved when it does not fail under that policy;
  if any library fails, nothing is written, the failures are printed, and the task exits
  with status 1. The old lockfile is never read: `callconv: [locked: true]` does not apply
  here, so a new library is added by running it again, and a deleted lockfile is written
  afresh. Commit the lockfile; `mix callconv.check --locked`,
  `Callconv.Release.check/1` with `callconv: [locked: true]`, and
  `Callconv.load_nif(..., lockfile: ...)` then refuse any other build.

  ## Command line options

    * `--lockfile` - where to write (default: `callconv: [lockfile: ...]` in `mix.exs`, else
      `priv/callconv.lock` in the project root, which ships in a release)
    * the scope and policy options of `mix callconv.check`: `--release`, `--no-deps`,
      `--strict`, `--ignore`, `--nif-version`, `--otp`, `--erts`

  ## Exit status

    * `0` - the lockfile was written
    * `1` - a library failed its checks; nothing was written
    * `2` - usage error
  """

  use Mix.Task

  alias Callconv.{CLI, Lock, Policy}

  @impl true
  def run(args) do
    {opts, paths} = CLI.parse_args!(args, "callconv.lock")

    for bad <- [:format, :output], Keyword.has_key?(opts, bad) do
      CLI.usage_error("callconv.lock", "--#{bad} is an option of mix callconv.check only")
    end

    if opts[:locked] do
      CLI.usage_error(
        "callconv.lock",
        "--locked checks against the lock; mix callconv.lock writes a new one without reading the old"
      )
    end

    lockfile = Lock.path(Callconv.Config.read(), opts[:lockfile], File.cwd!())

    # Check without the lock, whatever callconv: [locked: true] says (the :callconv compiler
    # leaves the checks to this task too): the point is to write a new one, so a new or
    # rebuilt library, or a deleted lockfile, must never stop it.
    {results, ctx} =
      CLI.checked(
        opts |> Keyword.delete(:lockfile) |> Keyword.put(:locked, false),
        paths,
        "callconv.lock"
      )

    case Enum.filter(results, &Policy.refused?/1) do
      [] ->
        entries =
          for report <- results do
            Lock.entry(report, Lock.key(report.path, ctx.root), file_size(report.path))
          end

        Lock.write!(lockfile, entries)

        Mix.shell().info(
          "Wrote #{Path.relative_to_cwd(lockfile)}: #{length(entries)} native " <>
            if(length(entries) == 1, do: "library", else: "libraries")
        )

      failed ->
        {text, _} = Callconv.render(failed, :text, target: ctx.target, root: ctx.root)
        Mix.shell().error(String.trim_trailing(text))

        Mix.shell().error(
          "mix callconv.lock: #{length(failed)} of #{length(results)} libraries fail; " <>
            "fix or --ignore them, then run it again. #{Path.relative_to_cwd(lockfile)} was not written."
        )

        exit({:shutdown, 1})
    end
  end

  defp file_size(path) do
    case File.stat(path) do
      {:ok, stat} -> stat.size
      _ -> nil
    end
  end
end
