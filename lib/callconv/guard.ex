defmodule Callconv.Guard do
  @moduledoc """
  Guarded NIF loading: check a library before `:erlang.load_nif/2` sees it.

  `use Callconv.Guard` writes the `@on_load` function of a NIF module, the way Rustler's
  `use Rustler` does (purge the old code, then load), with `Callconv.load_nif/3` in place of
  `:erlang.load_nif/2`:

      defmodule MyApp.Native do
        use Callconv.Guard, otp_app: :my_app, path: "priv/native/libmy_nif"

        def add(_a, _b), do: :erlang.nif_error(:not_loaded)
      end

  ## Options

    * `:otp_app` (required) - the application whose directory `:path` is relative to
    * `:path` (required) - the library, relative to the application directory, without
      extension (as `:erlang.load_nif/2` takes it)
    * `:load_data` - the term passed to the library's `load` callback (default `0`)
    * `:lockfile` - a lockfile path, relative to the application directory unless absolute,
      such as `"priv/callconv.lock"` (where `mix callconv.lock` writes it, and where it ships
      in a release); `true` is that default. A missing or unreadable lockfile refuses the
      library, with a message naming the file and `mix callconv.lock`
    * `:on_warning`, `:strict`, `:ignore`, `:cache`, `:cpu` - as for `Callconv.load_nif/3`

  If the library is refused, the module is not loaded, the reason is logged, and the
  `@on_load` function returns `{:error, {:callconv, why}}`, where `why` is the refusal as
  text (a charlist: the path, then each failing finding with its fix). That return value is
  what the code server prints, and what an embedded boot (`bin/app start`) prints as it
  stops (`{on_load_function_failed, Module, {error, {callconv, "callconv refused ..."}}}`),
  before any log handler is up.

  The guard runs inside the VM that loads the NIF, so callconv must be in the release: do
  not give the callconv dependency `runtime: false` (`Callconv.Release.check/1` fails a
  release whose guarded modules lack it). It works in every boot mode: interactive
  (`iex -S mix`, `bin/app eval`) and embedded (`bin/app start`, `bin/app daemon`), where
  the @on_load functions run before callconv's own library would have been loaded by one
  (callconv loads its NIF on first use instead). Escripts cannot carry a NIF's `priv`
  directory, callconv's included: there the guard refuses, saying so.

  ## The verdict cache

  Each check's report is kept in `:persistent_term`, keyed by the file's path and identity
  (size, modification and change times, inode) and by the module and functions it was
  checked against; the report carries the file's SHA-256, which is what the lockfile
  comparison uses. A release boot checks each library once, and reloading the same unchanged
  file reuses the verdict. Replacing the file (as every build and `File.cp/2` after `File.rm/1`
  does) changes its identity and invalidates the entry. An in-place rewrite to the same size
  within the same second keeps the old identity: call `clear_cache/0` after such a rewrite,
  or pass `cache: false`. Policy options (`:ignore`, `:strict`, `:lockfile`) are applied
  after the cache, so changing them needs no invalidation.

  The check runs on a dirty CPU scheduler; see `bench/guard/` for its cost.
  """

  require Logger
  # Compile-time dependencies on purpose: a module that uses this one may run its @on_load
  # inside the compiler (Elixir loads what it compiles), and it needs these loaded then.
  require Callconv.Lock
  require Callconv.Policy

  alias Callconv.{Lock, Policy, Report}

  @cache __MODULE__.Cache

  @load_options [:on_warning, :strict, :ignore, :lockfile, :cache, :functions, :nifs, :cpu, :log]

  @doc false
  defmacro __using__(opts) do
    otp_app = Keyword.fetch!(opts, :otp_app)
    path = Keyword.fetch!(opts, :path)
    load_data = Keyword.get(opts, :load_data, 0)
    guard_opts = Keyword.drop(opts, [:otp_app, :path, :load_data])

    quote do
      require Callconv

      # Which library this module loads, for the project scan (Callconv.Scan.loaders/1):
      # kept in the .beam, so mix callconv.check and the release step check the library
      # against this module, as the guard will at boot.
      Module.register_attribute(__MODULE__, :callconv_nif, persist: true)
      @callconv_nif {unquote(otp_app), unquote(path)}

      @on_load :__callconv_on_load__
      @before_compile Callconv.Guard

      @doc false
      def __callconv_on_load__ do
        # Purge old code first: a NIF library cannot be upgraded in place
        # ({:upgrade, 'Upgrade not supported by this NIF library.'}).
        :code.purge(__MODULE__)

        {path, opts} =
          Callconv.Guard.__app_paths__(unquote(otp_app), unquote(path), unquote(guard_opts))

        # Inside @on_load the module cannot be asked for its functions: use the list baked
        # in at compile time.
        opts = Keyword.put_new(opts, :functions, __callconv_functions__())

        opts =
          Keyword.put_new_lazy(opts, :nifs, fn ->
            Callconv.Guard.__declared_nifs__(__MODULE__, __callconv_nifs__())
          end)

        case Callconv.load_nif(path, unquote(Macro.escape(load_data)), opts) do
          :ok -> :ok
          {:error, {:callconv, reason}} -> {:error, Callconv.Guard.__boot_reason__(reason)}
          {:error, _} = error -> error
        end
      end
    end
  end

  @doc false
  defmacro __before_compile__(env) do
    functions = Module.definitions_in(env.module)

    # What the source says of -nifs; whether the compiler acted on it depends on the Elixir
    # version and on the attribute being persisted, so __declared_nifs__/2 checks the .beam.
    nifs =
      case Module.get_attribute(env.module, :nifs) do
        list when is_list(list) -> for {f, a} <- list, do: {Atom.to_string(f), a}
        _ -> false
      end

    quote do
      defp __callconv_functions__, do: unquote(functions)
      defp __callconv_nifs__, do: unquote(Macro.escape(nifs))
    end
  end

  @doc false
  # The NIF declarations of `module` for the check: what its .beam on the code path says, when
  # that agrees with what its source said at compile time. Inside the compiler the .beam on
  # disk may be an older build; when the two disagree nothing is claimed (`false`).
  def __declared_nifs__(module, compiled) do
    case module_nifs(module) do
      nil -> false
      from_beam -> if same_nifs?(from_beam, compiled), do: from_beam, else: false
    end
  end

  defp same_nifs?(a, b) when is_list(a) and is_list(b),
    do: Enum.sort(Enum.uniq(a)) == Enum.sort(Enum.uniq(b))

  defp same_nifs?(a, b), do: a == b

  @doc false
  def __app_paths__(otp_app, path, opts) do
    app_dir =
      case :code.lib_dir(otp_app) do
        {:error, _} -> Path.expand(".")
        dir -> List.to_string(dir)
      end

    opts =
      case Keyword.fetch(opts, :lockfile) do
        {:ok, true} ->
          Keyword.put(opts, :lockfile, Path.expand(Callconv.Lock.default_path(), app_dir))

        {:ok, lockfile} when is_binary(lockfile) ->
          Keyword.put(opts, :lockfile, Path.expand(lockfile, app_dir))

        _ ->
          opts
      end

    {Path.expand(path, app_dir), opts}
  end

  @doc """
  The check `Callconv.load_nif/3` runs, without loading: decides whether the library at
  `path` (without extension) may be loaded into `module`.

  Returns `{:ok, charlist}` with the path to hand to `:erlang.load_nif/2`, or
  `{:error, {:callconv, reason}}` after logging why (see `Callconv.load_nif/3` for the
  options).

  ## Examples

      iex> {:error, {:callconv, %Callconv.Error{reason: :"not-found"}}} =
      ...>   Callconv.Guard.verify(MyApp.Native, "/nonexistent/libx", log: false)
  """
  @spec verify(module(), Path.t() | charlist(), keyword()) ::
          {:ok, charlist()}
          | {:error, {:callconv, Report.t() | Callconv.Error.t()}}
  def verify(module, path, opts \\ []) do
    opts =
      Keyword.validate!(opts,
        on_warning: :load,
        strict: false,
        ignore: [],
        lockfile: nil,
        cache: true,
        functions: nil,
        nifs: nil,
        cpu: nil,
        log: true
      )

    on_warning = if opts[:strict], do: :refuse, else: opts[:on_warning]

    unless on_warning in [:load, :quiet, :refuse] do
      raise ArgumentError,
            ":on_warning must be :load, :quiet or :refuse, got: #{inspect(on_warning)}"
    end

    base = IO.chardata_to_string(path)
    file = base <> library_extension()
    functions = opts[:functions] || module_functions(module)
    nifs = if is_nil(opts[:nifs]), do: module_nifs(module) || false, else: opts[:nifs]

    result =
      with :ok <- callconv_loaded(),
           {:ok, policy} <- policy(opts, on_warning),
           {:ok, report} <-
             cached_check(file, module, {functions, nifs, opts[:cpu]}, opts[:cache]) do
        Policy.apply(report, policy, Lock.key(file, File.cwd!()))
      else
        {:error, %Callconv.Error{} = error} -> error
      end

    decide(result, module, file, on_warning, opts[:log])
  end

  @doc """
  Forgets every cached verdict (see "The verdict cache" above). Erasing `:persistent_term`
  entries makes the VM scan every process once, so call it rarely.
  """
  @spec clear_cache() :: :ok
  def clear_cache do
    for {{@cache, _} = key, _} <- :persistent_term.get(), do: :persistent_term.erase(key)
    :ok
  end

  @doc """
  The file name extension the BEAM appends to a `load_nif` path on this OS.

  ## Examples

      iex> Callconv.Guard.library_extension() in [".so", ".dll"]
      true
  """
  @spec library_extension() :: String.t()
  def library_extension do
    case :os.type() do
      {:win32, _} -> ".dll"
      _ -> ".so"
    end
  end

  # callconv's own NIF: loaded on first use (see Callconv.Native), here so that a missing one
  # is a refusal that says so rather than an exception inside @on_load.
  defp callconv_loaded do
    case Callconv.Native.ensure_loaded() do
      :ok ->
        :ok

      {:error, message} ->
        {:error, %Callconv.Error{reason: :unavailable, path: "callconv", message: message}}
    end
  end

  defp policy(opts, on_warning) do
    case Callconv.Config.policy(
           strict: on_warning == :refuse,
           ignore: opts[:ignore],
           lockfile: opts[:lockfile]
         ) do
      {:ok, policy} ->
        {:ok, policy}

      {:error, why} ->
        {:error, %Callconv.Error{reason: :io, path: to_string(opts[:lockfile]), message: why}}
    end
  end

  # A loaded module answers get_module_info. Inside its own @on_load it is not loaded yet
  # (get_module_info raises there), but its object code can be read from the code path.
  defp module_functions(module) do
    cond do
      :erlang.module_loaded(module) ->
        :erlang.get_module_info(module, :functions)

      match?({^module, _, _}, :code.get_object_code(module)) ->
        {^module, binary, _} = :code.get_object_code(module)

        case :beam_lib.chunks(binary, [:exports, :locals]) do
          {:ok, {_, [exports: exports, locals: locals]}} -> Enum.uniq(exports ++ locals)
          _ -> nil
        end

      true ->
        nil
    end
  end

  # The functions a module declares as NIFs, from its .beam on the code path: a list, false
  # when it declares none, nil when it cannot be read.
  # callconv's own NIF reads the code; when it cannot be loaded (the guard then refuses with
  # its own message), nothing is claimed.
  defp module_nifs(module) do
    with {^module, binary, _} <- :code.get_object_code(module),
         {:ok, {_module, _functions, declared}} <- Callconv.Scan.beam_nifs_of_binary(binary) do
      declared || false
    else
      _ -> nil
    end
  rescue
    ErlangError -> nil
  end

  defp cached_check(file, module, functions, false), do: check(file, module, functions)

  defp cached_check(file, module, functions, true) do
    case File.stat(file, time: :posix) do
      {:ok, %File.Stat{type: :regular} = stat} ->
        key =
          {@cache,
           {file, stat.size, stat.mtime, stat.ctime, stat.inode, module,
            :erlang.phash2(functions)}}

        case :persistent_term.get(key, nil) do
          nil ->
            with {:ok, report} <- check(file, module, functions) do
              :persistent_term.put(key, report)
              {:ok, report}
            end

          report ->
            {:ok, report}
        end

      _ ->
        check(file, module, functions)
    end
  end

  defp check(file, module, {functions, nifs, cpu}) do
    opts = if functions, do: [module: module, functions: functions], else: [module: module]
    cpu = if cpu, do: [cpu: cpu], else: []
    Callconv.check(file, opts ++ [nifs: nifs] ++ cpu)
  end

  defp decide(%Callconv.Error{} = error, module, file, _on_warning, log) do
    if log and first_time?({file, module, error.reason}) do
      why =
        if error.reason in [:malformed, :empty, :"unknown-format"],
          do: ". A truncated or malformed library crashes the VM inside load_nif; rebuild it.",
          else: ""

      Logger.error(
        "callconv: refused to load #{file} into #{inspect(module)}: #{error.message}" <> why
      )
    end

    {:error, {:callconv, error}}
  end

  defp decide(%Report{} = report, module, file, on_warning, log) do
    errors = Report.findings(report, :error)
    warnings = Report.findings(report, :warning)

    cond do
      Policy.refused?(report) ->
        if log and
             first_time?({file, module, report.sha256, Enum.map(report.findings, & &1.rule)}) do
          Logger.error(
            "callconv: refused to load #{file} into #{inspect(module)}:\n" <>
              lines(errors ++ if(on_warning == :refuse, do: warnings, else: []))
          )
        end

        {:error, {:callconv, report}}

      warnings != [] and on_warning == :load and log ->
        Logger.warning(
          "callconv: loading #{file} into #{inspect(module)} despite warnings:\n" <>
            lines(warnings)
        )

        {:ok, String.to_charlist(Path.rootname(file, library_extension()))}

      true ->
        {:ok, String.to_charlist(Path.rootname(file, library_extension()))}
    end
  end

  # A module whose @on_load fails is loaded again at its next call (Elixir's own error
  # message asks for it), and refused again: log each refusal of the same file, for the same
  # module and the same findings, once per VM. Refusals are rare, so the cost of a
  # persistent_term write does not matter.
  defp first_time?(what) do
    key = {__MODULE__.Logged, what}

    if :persistent_term.get(key, false) do
      false
    else
      :persistent_term.put(key, true)
      true
    end
  end

  defp lines(findings), do: Enum.map_join(findings, "\n", &("  " <> Policy.finding_line(&1)))

  @doc false
  # The @on_load result of a refusal: {:callconv, charlist} that reads as a sentence when
  # printed with ~p (an embedded boot prints only this), so ASCII only.
  @spec __boot_reason__(Report.t() | Callconv.Error.t()) :: {:callconv, charlist()}
  def __boot_reason__(%Report{} = report) do
    # The errors; a strict refusal has only warnings.
    findings =
      case Report.findings(report, :error) do
        [] -> Report.findings(report, :warning)
        errors -> errors
      end
      |> Enum.map_join(" ", &Policy.finding_line/1)

    {:callconv, ascii("callconv refused #{report.path}: #{findings}")}
  end

  def __boot_reason__(%Callconv.Error{} = error) do
    {:callconv, ascii("callconv refused to load: #{error.message}")}
  end

  defp ascii(text) do
    text
    |> String.replace("…", "...")
    |> String.to_charlist()
    |> Enum.map(fn c -> if c in 32..126, do: c, else: ?? end)
  end

  @doc false
  def __load_options__, do: @load_options
end
