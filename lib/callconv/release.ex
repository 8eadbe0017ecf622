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

  The `callconv:` configuration of `mix.exs` applies (`strict`, `ignore`, `nifs`, and
  `locked` / `lockfile` to refuse libraries that are not the locked builds; see
  `mix callconv.check`). A library loaded by a `use Callconv.Guard` module is checked against
  that module, as the guard will check it at boot. A release whose modules use the guard
  but which lacks the callconv application (a `runtime: false` dependency) is refused: it
  would not boot.
  """

  alias Callconv.{Lock, Policy, Scan}

  @doc """
  Checks the assembled release and returns it unchanged, or raises `Mix.Error`.
  """
  @spec check(Mix.Release.t()) :: Mix.Release.t()
  def check(%Mix.Release{} = release) do
    config = Callconv.Config.read()
    root = File.cwd!()
    libraries = Scan.lib_priv_files(release.path)

    erts_opts =
      case release.path |> Path.join("erts-*") |> Path.wildcard() do
        [erts | _] -> [erts: erts]
        [] -> []
      end

    # The configured CPU is the one the release's runtime runs on (a firmware's board).
    cpu_opts = if cpu = Callconv.Config.cpu(config), do: [cpu: cpu], else: []

    target =
      try do
        Callconv.target(erts_opts ++ cpu_opts)
      rescue
        e in ArgumentError -> Mix.raise("callconv: #{Exception.message(e)}")
      end
      |> case do
        {:ok, target} -> target
        {:error, error} -> Mix.raise("callconv: cannot read the release's ERTS: #{error.message}")
      end

    policy = policy(config, root)
    {loaders, guarded} = Scan.loaders([release.path], nifs: config[:nifs] || [], app: app())
    guard_needs_callconv!(release, guarded)

    results =
      libraries
      |> Scan.check([target: target], Scan.beam_index([release.path]),
        progress: Scan.stderr_progress(),
        loaders: loaders
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

  defp app, do: Mix.Project.get() && Mix.Project.config()[:app]

  # The guard runs at boot, inside the release: without callconv in it (a runtime: false
  # dependency) every guarded module fails its @on_load with undef.
  defp guard_needs_callconv!(release, guarded) do
    # The release's own list: an older release's lib/callconv-* may survive --overwrite.
    has_callconv? = Map.has_key?(release.applications, :callconv)

    if guarded != [] and not has_callconv? do
      modules = Enum.map_join(guarded, ", ", &String.replace_prefix(&1, "Elixir.", ""))

      Mix.raise(
        "callconv: release #{release.name} does not include the callconv application, but " <>
          "these modules check their NIFs with its guard when they load, and would fail to " <>
          "load (undef) without it: #{modules}. Remove `runtime: false` from the callconv " <>
          "dependency in mix.exs."
      )
    end
  end

  defp policy(config, root) do
    case Callconv.Config.project_policy(config, root) do
      {:ok, policy} -> policy
      {:error, why} -> Mix.raise("callconv: #{why}")
    end
  end
end
