defmodule Callconv.Release do
  @moduledoc """
  A `Mix.Release` step that checks every native library of the assembled release.

      def project do
        [
          app: :my_app,
          releases: [
            my_app: [steps: [:assemble, &Callconv.Release.check/1]]
          ]
        ]
      end

  After `:assemble`, every `.so`/`.dylib`/`.dll` under the release's `lib/*/priv` is checked
  against the release's own ERTS (`erts-*/bin/beam.smp`, read, not run), or against the
  running VM when `include_erts: false`; each NIF is cross-checked against the release's
  compiled module of the same name. On any failure the report is printed and the release
  is aborted with `Mix.raise/1`, so `mix release` exits non-zero.

  The `callconv:` configuration of `mix.exs` applies (`strict`, `ignore`, and `locked` /
  `lockfile` to refuse libraries that are not the locked builds; see `mix callconv.check`).
  """

  alias Callconv.{Lock, Policy, Scan}

  @doc """
  Checks the assembled release and returns it unchanged, or raises `Mix.Error`.
  """
  @spec check(Mix.Release.t()) :: Mix.Release.t()
  def check(%Mix.Release{} = release) do
    config = Mix.Tasks.Callconv.Check.project_config()
    root = File.cwd!()
    libraries = Scan.lib_priv_files(release.path)

    erts_opts =
      case release.path |> Path.join("erts-*") |> Path.wildcard() do
        [erts | _] -> [erts: erts]
        [] -> []
      end

    target =
      case Callconv.target(erts_opts) do
        {:ok, target} -> target
        {:error, error} -> Mix.raise("callconv: cannot read the release's ERTS: #{error.message}")
      end

    policy = policy(config, root)

    results =
      libraries
      |> Scan.check([target: target], Scan.beam_index([release.path]),
        progress: Scan.stderr_progress()
      )
      |> Enum.map(fn
        {path, {:ok, report}} -> Policy.apply(report, policy, Lock.key(path, root))
        {_path, {:error, error}} -> error
      end)

    case Enum.filter(results, &Policy.refused?/1) do
      [] ->
        Mix.shell().info(
          "* callconv checked #{length(results)} native " <>
            if(length(results) == 1, do: "library", else: "libraries") <>
            " against ERTS #{target.erts_version || "(running VM)"}: none fails"
        )

        release

      failed ->
        {text, _} = Callconv.render(failed, :text, target: target, root: root)
        Mix.shell().error(String.trim_trailing(text))

        Mix.raise(
          "callconv: #{length(failed)} of #{length(results)} native libraries in release " <>
            "#{release.name} would not load safely (see above); the release was not finished"
        )
    end
  end

  defp policy(config, root) do
    lock =
      if config[:locked] || config[:lockfile] do
        file = Path.expand(config[:lockfile] || "callconv.lock", root)

        case Lock.read(file) do
          {:ok, lock} -> lock
          {:error, why} -> Mix.raise("callconv: #{why}")
        end
      end

    Policy.new(strict: config[:strict] == true, ignore: config[:ignore] || [], lock: lock)
  end
end
