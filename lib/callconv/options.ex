defmodule Callconv.Options do
  @moduledoc """
  The options of `Callconv.check/2`, resolved once: the target read (from an ERTS directory,
  a triple, an OTP release, ...), the module's functions and declared NIFs looked up, every
  value validated. `Callconv.check/2`, `Callconv.check_document/3` and `Callconv.target/1`
  take their options through it; `Callconv` documents each option.

  Invalid values raise `ArgumentError`; a target that cannot be read (an ERTS directory
  without a readable `beam.smp`) is `{:error, %Callconv.Error{}}`.
  """

  alias Callconv.Target

  @enforce_keys [:target]
  defstruct [
    :target,
    :module,
    :functions,
    :nifs,
    :probe,
    :root,
    isolation: :vm,
    analyse: :nif
  ]

  @typedoc """
  Resolved options:

    * `:target` - the `Callconv.Target`
    * `:module` - the loading module's name as a string, or `nil`
    * `:functions`, `:nifs` - `{name, arity}` lists with string names, or `nil`
    * `:probe` - `nil`, or `{executable, unsandboxed?}`
    * `:root` - the target's root directory as a binary, or `nil`
    * `:isolation` - `:vm` or `:process`
    * `:analyse` - `:nif` or `:exports`
  """
  @type t :: %__MODULE__{
          target: Target.t(),
          module: String.t() | nil,
          functions: [{String.t(), arity()}] | nil,
          nifs: [{String.t(), arity()}] | nil,
          probe: {String.t(), boolean()} | nil,
          root: String.t() | nil,
          isolation: :vm | :process,
          analyse: :nif | :exports
        }

  @option_keys [
    :target,
    :erts,
    :otp_release,
    :nif_version,
    :triple,
    :min_os,
    :cpu,
    :module,
    :functions,
    :nifs,
    :probe,
    :isolation,
    :root,
    :analyse
  ]

  @doc """
  The option names `Callconv.check/2` accepts.

  ## Examples

      iex> :analyse in Callconv.Options.keys()
      true
  """
  @spec keys() :: [atom()]
  def keys, do: @option_keys

  @doc """
  Resolves `Callconv.check/2` options.

  ## Examples

      iex> {:ok, options} = Callconv.Options.resolve(nif_version: "2.14", analyse: :exports)
      iex> {options.target.nif_version, options.analyse, options.isolation}
      {"2.14", :exports, :vm}

      iex> Callconv.Options.resolve(analyse: :everything)
      ** (ArgumentError) :analyse must be :nif or :exports, got: :everything
  """
  @spec resolve(keyword()) :: {:ok, t()} | {:error, Callconv.Error.t()}
  def resolve(opts) do
    opts = Keyword.validate!(opts, @option_keys)

    with {:ok, target} <- resolve_target(opts) do
      {module, functions, nifs} = module_from_opts(opts)

      options = %__MODULE__{
        target: target,
        module: module,
        functions: functions,
        nifs: nifs,
        probe: probe_from_opts(opts),
        root: root_from_opts(opts),
        analyse: analyse_from_opts(opts)
      }

      {:ok, %{options | isolation: isolation_from_opts(opts)}}
    end
  end

  @doc """
  Only the target of `Callconv.check/2` options (`:target`, `:erts`, `:otp_release`,
  `:nif_version`, `:triple`, `:min_os`, `:cpu`; the others are validated as names only).

  ## Examples

      iex> {:ok, target} = Callconv.Options.target(nif_version: "2.14")
      iex> {target.nif_version, target.source}
      {"2.14", :explicit}
  """
  @spec target(keyword()) :: {:ok, Target.t()} | {:error, Callconv.Error.t()}
  def target(opts) do
    opts |> Keyword.validate!(@option_keys) |> resolve_target()
  end

  @doc """
  The `:root` option, validated: a directory as a binary, or `nil`.
  """
  @spec root(keyword()) :: String.t() | nil
  def root(opts), do: root_from_opts(opts)

  @doc false
  # The request the NIF and `callconv isolated` take (`callconv::wire::CheckRequest`).
  @spec request(t()) :: binary()
  def request(%__MODULE__{} = o) do
    Callconv.Wire.request(o.target,
      module: o.module,
      functions: o.functions,
      declared_nifs: o.nifs,
      probe_unsandboxed: match?({_, true}, o.probe),
      exports: o.analyse == :exports
    )
  end

  @doc false
  @spec path_binary(Path.t()) :: binary()
  def path_binary(path) when is_binary(path), do: path
  def path_binary(path), do: IO.chardata_to_string(path)

  defp isolation_from_opts(opts) do
    case Keyword.get(opts, :isolation, :vm) do
      isolation when isolation in [:vm, :process] ->
        isolation

      other ->
        raise ArgumentError, ":isolation must be :vm or :process, got: #{inspect(other)}"
    end
  end

  defp resolve_target(opts) do
    base =
      case {Keyword.fetch(opts, :target), Keyword.fetch(opts, :erts)} do
        {{:ok, %Target{} = target}, _} ->
          {:ok, target}

        {{:ok, other}, _} ->
          raise ArgumentError, ":target must be a Callconv.Target, got: #{inspect(other)}"

        {:error, {:ok, dir}} ->
          Target.from_erts(dir)

        {:error, :error} ->
          {:ok, Target.current()}
      end

    with {:ok, target} <- base,
         {:ok, target} <- apply_triple(target, opts[:triple]),
         {:ok, target} <- apply_otp(target, opts[:otp_release]) do
      target =
        case opts[:nif_version] do
          nil ->
            target

          v when is_binary(v) ->
            %{target | nif_version: v, source: :explicit}

          v ->
            raise ArgumentError,
                  ":nif_version must be a string such as \"2.17\", got: #{inspect(v)}"
        end

      target =
        case opts[:min_os] do
          nil ->
            target

          v when is_binary(v) ->
            %{target | os_version: v, source: :explicit}

          v ->
            raise ArgumentError, ":min_os must be a string such as \"13.0\", got: #{inspect(v)}"
        end

      # After :triple, so that it wins over the CPU a triple names.
      {:ok, apply_cpu(target, opts[:cpu])}
    end
  end

  defp apply_cpu(target, nil), do: target

  defp apply_cpu(target, cpu) when is_binary(cpu) do
    case Target.with_cpu(target, cpu) do
      {:ok, target} -> target
      {:error, message} -> raise ArgumentError, ":cpu: " <> message
    end
  end

  defp apply_cpu(_target, other) do
    raise ArgumentError,
          ":cpu must be a string such as \"cortex-a53\" or \"x86-64-v3\", got: #{inspect(other)}"
  end

  defp apply_triple(target, nil), do: {:ok, target}

  defp apply_triple(target, triple) when is_binary(triple) do
    case Target.for_triple(target, triple) do
      {:ok, target} -> {:ok, target}
      {:error, message} -> raise ArgumentError, message
    end
  end

  defp apply_triple(_target, other) do
    raise ArgumentError,
          ":triple must be a string such as \"aarch64-unknown-linux-gnu\", got: #{inspect(other)}"
  end

  defp apply_otp(target, nil), do: {:ok, target}

  defp apply_otp(target, otp) when is_binary(otp) do
    case Integer.parse(otp) do
      {n, ""} ->
        apply_otp(target, n)

      _ ->
        raise ArgumentError,
              ":otp_release must be an OTP major release such as \"27\", got: #{inspect(otp)}"
    end
  end

  defp apply_otp(target, otp) when is_integer(otp) do
    case Target.with_otp(target, otp) do
      {:ok, target} -> {:ok, target}
      {:error, message} -> raise ArgumentError, message
    end
  end

  defp module_from_opts(opts) do
    module = opts[:module]
    name = module && module_name(module)

    functions =
      case {opts[:functions], module} do
        {nil, mod} when is_atom(mod) and mod != nil -> loaded_functions(mod)
        {nil, _} -> nil
        {fs, _} -> Enum.map(fs, fn {f, a} -> {to_string(f), a} end)
      end

    nifs =
      case {opts[:nifs], module} do
        {nil, mod} when is_atom(mod) and mod != nil -> beam_declared_nifs(mod)
        {nil, _} -> nil
        {false, _} -> nil
        {fs, _} -> Enum.map(fs, fn {f, a} -> {to_string(f), a} end)
      end

    {name, functions, nifs}
  end

  # The module's .beam on the code path says which functions it declares as NIFs; nil when
  # it declares none or cannot be read.
  defp beam_declared_nifs(module) do
    with {^module, binary, _} <- :code.get_object_code(module),
         {:ok, {_module, _functions, declared}} <- Callconv.Scan.beam_nifs_of_binary(binary) do
      declared
    else
      _ -> nil
    end
  end

  defp module_name(module) when is_atom(module), do: Atom.to_string(module)
  defp module_name(module) when is_binary(module), do: module

  # nil when the module is not loaded yet, as inside its own @on_load on OTP 25 (where
  # get_module_info raises): pass :functions there, as Callconv.Guard does.
  defp loaded_functions(module) do
    if :erlang.module_loaded(module) do
      for {f, a} <- :erlang.get_module_info(module, :functions), do: {Atom.to_string(f), a}
    end
  end

  # nil, or the probe's executable and whether it runs unsandboxed.
  defp probe_from_opts(opts) do
    case Keyword.get(opts, :probe, false) do
      false ->
        nil

      true ->
        {Callconv.Native.executable(), false}

      :unsandboxed ->
        {Callconv.Native.executable(), true}

      other ->
        raise ArgumentError, ":probe must be true, false or :unsandboxed, got: #{inspect(other)}"
    end
  end

  defp analyse_from_opts(opts) do
    case Keyword.get(opts, :analyse, :nif) do
      analyse when analyse in [:nif, :exports] -> analyse
      other -> raise ArgumentError, ":analyse must be :nif or :exports, got: #{inspect(other)}"
    end
  end

  defp root_from_opts(opts) do
    case opts[:root] do
      nil ->
        nil

      dir ->
        dir = path_binary(dir)

        unless File.dir?(dir) do
          raise ArgumentError, ":root must be a directory, got: #{inspect(dir)}"
        end

        dir
    end
  end
end
