defmodule Callconv.Config do
  @moduledoc """
  The project's `callconv:` configuration in `mix.exs`, read and validated once, and the one
  place a `Callconv.Policy` is made from configuration: `mix callconv.check`,
  `mix callconv.lock`, the `:callconv` compiler, `Callconv.Release.check/1` and the guard
  (`Callconv.load_nif/3`, from its options) all build their policy here.

      def project do
        [app: :my_app, callconv: [strict: true, ignore: ["not-a-nif:deps/**"], locked: true]]
      end

  Keys (see `mix callconv.check` for each):

    * `:strict` - warnings fail
    * `:ignore` - rule ids or `"RULE:PATH"` entries
    * `:locked`, `:lockfile` - check libraries against a lockfile (`Callconv.Lock`)
    * `:nifs` - `{module, library}` pairs the project scan cannot find by itself
    * `:target` - `:nif_version`, `:otp_release`, `:erts`, `:triple`, `:min_os`, `:cpu` (the
      oldest CPU the target runs, such as `"cortex-a53"`: see `cpu/1`)
    * `:root` - the target's root file system
  """

  alias Callconv.{Lock, Policy}

  @type t :: keyword()

  @doc """
  The current Mix project's configuration (`[]` outside a project). Raises `Mix.Error` when
  it is not a keyword list.
  """
  @spec read() :: t()
  def read do
    if Mix.Project.get(), do: validate!(Mix.Project.config()[:callconv] || []), else: []
  end

  @doc """
  `config` if it is a keyword list; raises `Mix.Error` otherwise.

  ## Examples

      iex> Callconv.Config.validate!(strict: true)
      [strict: true]
  """
  @spec validate!(term()) :: t()
  def validate!(config) do
    unless Keyword.keyword?(config) do
      Mix.raise("callconv: in mix.exs must be a keyword list, got: #{inspect(config)}")
    end

    config
  end

  @doc """
  The target CPU the configuration names (`target: [cpu: "cortex-a53"]`), or `nil`. Raises
  `Mix.Error` when it is not a string. `mix callconv.check` and `mix callconv.lock` check
  against it (with the configuration's `:triple`), as does `Callconv.Release.check/1` (with
  the release's own ERTS, the firmware's runtime); the `:callconv` compiler uses it only when
  the configuration names no `:triple`, since it checks for this machine's platform.

  ## Examples

      iex> Callconv.Config.cpu(target: [triple: "aarch64-unknown-linux-gnu", cpu: "cortex-a53"])
      "cortex-a53"
      iex> Callconv.Config.cpu(strict: true)
      nil
  """
  @spec cpu(t()) :: String.t() | nil
  def cpu(config) do
    case config |> Keyword.get(:target, []) |> Keyword.get(:cpu) do
      cpu when is_binary(cpu) or is_nil(cpu) ->
        cpu

      other ->
        Mix.raise(
          "callconv: target: [cpu: ...] must be a string such as \"cortex-a53\", got: #{inspect(other)}"
        )
    end
  end

  @doc """
  A policy from explicit values: `:strict`, `:ignore`, and `:lockfile`, the path of a lock
  to read (`nil`: none). `{:error, message}` when the lockfile cannot be read.

  ## Examples

      iex> {:ok, policy} = Callconv.Config.policy(strict: true, ignore: ["not-a-nif"])
      iex> {policy.strict, policy.ignore, policy.lock}
      {true, ["not-a-nif"], nil}
  """
  @spec policy(keyword()) :: {:ok, Policy.t()} | {:error, String.t()}
  def policy(opts) do
    opts = Keyword.validate!(opts, strict: false, ignore: [], lockfile: nil)

    lock =
      case opts[:lockfile] do
        nil -> {:ok, nil}
        lockfile -> Lock.read_for_check(IO.chardata_to_string(lockfile))
      end

    with {:ok, lock} <- lock do
      {:ok, Policy.new(strict: opts[:strict] == true, ignore: opts[:ignore] || [], lock: lock)}
    end
  end

  @doc """
  The project's policy: `config` (as `read/0` returns it) with the project's lock, if it is
  locked, read relative to `root`. Overrides, as the command line gives them:

    * `:strict` - wins over the configuration's
    * `:ignore` - added to the configuration's
    * `:locked` - wins over the configuration's `:locked`
    * `:lockfile` - a lockfile to check against instead (locks the check)

  ## Examples

      iex> {:ok, policy} = Callconv.Config.project_policy([ignore: ["not-a-nif"]], ".", ignore: ["abi-mismatch"])
      iex> {policy.strict, policy.ignore, policy.lock}
      {false, ["not-a-nif", "abi-mismatch"], nil}
  """
  @spec project_policy(t(), Path.t(), keyword()) :: {:ok, Policy.t()} | {:error, String.t()}
  def project_policy(config, root, overrides \\ []) do
    overrides = Keyword.validate!(overrides, [:strict, :locked, :lockfile, ignore: []])

    locked? = overrides[:lockfile] != nil or Keyword.get(overrides, :locked, Lock.locked?(config))

    policy(
      strict: Keyword.get(overrides, :strict, Keyword.get(config, :strict, false)),
      ignore: Keyword.get(config, :ignore, []) ++ overrides[:ignore],
      lockfile: if(locked?, do: Lock.path(config, overrides[:lockfile], root))
    )
  end
end
