defmodule Callconv.Scan do
  @moduledoc """
  Finds the native libraries of a build or a release and checks each one against the module
  that will load it.

  A NIF names its module; when a compiled `.beam` of that module is found (in the build's or
  release's `lib/*/ebin`), the library is checked a second time with `module:`, `functions:`
  (`:beam_lib` exports and locals) and `nifs:` (the functions it declares as NIFs, read from
  its code) taken from that `.beam`, so that a NIF function the module lacks or does not
  declare is caught before deploy. Used by `mix callconv.check`,
  `mix callconv.lock`, `Callconv.Release.check/1` and the `:callconv` compiler.
  """

  alias Callconv.Report

  @native_exts ~w(.so .dylib .dll)

  @typedoc "A path with its check result."
  @type result :: {Path.t(), {:ok, Report.t()} | {:error, Callconv.Error.t()}}

  @doc """
  The native libraries (`.so`, `.dylib`, `.dll`) under `dir`, sorted; `dir` may also be a file.
  """
  @spec native_files(Path.t()) :: [Path.t()]
  def native_files(dir) do
    if File.dir?(dir) do
      dir
      |> Path.join("**/*")
      |> Path.wildcard(match_dot: true)
      |> Enum.filter(&(Path.extname(&1) in @native_exts and File.regular?(&1)))
      |> Enum.sort()
    else
      [dir]
    end
  end

  @doc """
  The native libraries in the `priv` directories under `root/lib/*/priv` (a Mix build path
  or an assembled release), optionally only those of `apps`.
  """
  @spec lib_priv_files(Path.t(), [atom()] | :all) :: [Path.t()]
  def lib_priv_files(root, apps \\ :all) do
    root
    |> Path.join("lib/*/priv")
    |> Path.wildcard()
    |> Enum.filter(fn priv ->
      apps == :all or app_of(Path.dirname(priv)) in Enum.map(apps, &Atom.to_string/1)
    end)
    |> Enum.flat_map(&native_files/1)
  end

  defp app_of(lib_dir) do
    lib_dir |> Path.basename() |> String.replace(~r/-\d[^\/]*$/, "")
  end

  @doc """
  An index of the compiled modules under `roots` (each a build path or release, whose
  `lib/*/ebin/*.beam` are listed): module name as a string (`"Elixir.Foo"`) to `.beam` path.
  """
  @spec beam_index([Path.t()]) :: %{String.t() => Path.t()}
  def beam_index(roots) do
    for root <- roots,
        beam <- Path.wildcard(Path.join(root, "lib/*/ebin/*.beam")),
        into: %{},
        do: {Path.basename(beam, ".beam"), beam}
  end

  @doc """
  The functions of a compiled module, as `{name, arity}`, read from its `.beam` (exports and
  local functions).
  """
  @spec beam_functions(Path.t()) :: {:ok, [{atom(), arity()}]} | :error
  def beam_functions(beam) do
    case :beam_lib.chunks(String.to_charlist(beam), [:exports, :locals]) do
      {:ok, {_module, [exports: exports, locals: locals]}} -> {:ok, Enum.uniq(exports ++ locals)}
      _ -> :error
    end
  end

  @doc """
  The functions a compiled module declares as NIFs (OTP 25's `-nifs`, Elixir's persisted
  `@nifs`), read from the `nif_start` instructions of its `.beam` (callconv's own reader, not
  `:beam_disasm`, which a release may lack): `{:ok, list}`, `{:ok, false}` when it declares
  none, or `:error` when the file cannot be read (compressed, or from a newer compiler).
  """
  @spec beam_nifs(Path.t()) :: {:ok, [{String.t(), arity()}] | false} | :error
  def beam_nifs(beam) do
    with {:ok, binary} <- File.read(beam),
         {:ok, {_module, _functions, declared}} <- beam_nifs_of_binary(binary) do
      {:ok, declared || false}
    else
      _ -> :error
    end
  end

  @doc false
  def beam_nifs_of_binary(binary) when is_binary(binary), do: Callconv.Native.beam_nifs(binary)

  @doc """
  The `Callconv.check/2` options a compiled module gives: `functions:` and `nifs:`, each
  when its `.beam` can be read.
  """
  @spec module_check_opts(Path.t()) :: keyword()
  def module_check_opts(beam) do
    functions =
      case beam_functions(beam) do
        {:ok, functions} -> [functions: functions]
        :error -> []
      end

    nifs =
      case beam_nifs(beam) do
        {:ok, nifs} -> [nifs: nifs]
        :error -> []
      end

    functions ++ nifs
  end

  @doc """
  Checks every path with `check_opts` (options of `Callconv.check/2`). A NIF whose module is
  in `beams` (see `beam_index/1`) is checked again against that module's functions.

  `:progress` - a function called as `fun.(index, total, path)` before each check.
  """
  @spec check([Path.t()], keyword(), %{String.t() => Path.t()}, keyword()) :: [result()]
  def check(paths, check_opts, beams \\ %{}, opts \\ []) do
    progress = Keyword.get(opts, :progress, fn _, _, _ -> :ok end)
    total = length(paths)

    paths
    |> Enum.with_index(1)
    |> Enum.map(fn {path, i} ->
      progress.(i, total, path)
      {path, check_one(path, check_opts, beams)}
    end)
  end

  # An explicit :module (mix callconv.check --module) already says which module loads it.
  defp check_one(path, check_opts, beams) do
    if Keyword.has_key?(check_opts, :module),
      do: Callconv.check(path, check_opts),
      else: check_by_decoded_module(path, check_opts, beams)
  end

  defp check_by_decoded_module(path, check_opts, beams) do
    case Callconv.check(path, check_opts) do
      {:ok, %Report{nif: %{module: module}}} = first when is_map_key(beams, module) ->
        case module_check_opts(Map.fetch!(beams, module)) do
          [] -> first
          from_beam -> Callconv.check(path, check_opts ++ [module: module] ++ from_beam)
        end

      other ->
        other
    end
  end

  @doc """
  A progress printer for `check/4`: writes `checking N/TOTAL path` to standard error when
  more than `threshold` libraries are checked, overwriting the line on a terminal.
  """
  @spec stderr_progress(non_neg_integer()) :: (pos_integer(), pos_integer(), Path.t() -> :ok)
  def stderr_progress(threshold \\ 5) do
    tty? = IO.ANSI.enabled?()

    fn i, total, path ->
      if total > threshold do
        line = "callconv: checking #{i}/#{total} #{Path.basename(path)}"

        if tty? do
          IO.write(:stderr, "\r\e[2K" <> line <> if(i == total, do: "\n", else: ""))
        else
          IO.write(:stderr, line <> "\n")
        end
      end

      :ok
    end
  end
end
