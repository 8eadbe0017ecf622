defmodule Callconv.Scan do
  @moduledoc """
  Finds the native libraries of a build or a release and checks each one against the module
  that will load it.

  A NIF names its module; when a compiled `.beam` of that module is found (in the build's or
  release's `lib/*/ebin`), the library is checked a second time with `module:`, `functions:`
  (`:beam_lib` exports and locals) and `nifs:` (the functions it declares as NIFs, read from
  its code) taken from that `.beam`, so that a NIF function the module lacks or does not
  declare is caught before deploy.

  Which module loads which library is also learnt from the project's code (`loaders/2`):
  a module that uses `Callconv.Guard` records its library in its `.beam`, and
  `callconv: [nifs: [{MyApp.Nif, "priv/native/libmy_nif"}]]` in `mix.exs` names the others.
  Such a library is checked against that module, so a NIF built for another module name
  fails the scan (`nif-module-mismatch`) as it would fail at boot.

  Used by `mix callconv.check`,
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

  @typedoc "Who loads what: each library's expanded path, to the module name (`\"Elixir.Foo\"`)."
  @type loaders :: %{Path.t() => String.t()}

  @doc """
  The libraries the project's modules load, under `roots` (build paths or releases): from
  the `callconv_nif` attribute that `use Callconv.Guard` keeps in each `.beam`, from the
  `:erlang.load_nif/2` call of a module's own `@on_load` function when the path is spelled
  out in the code (read from the debug info, so in a build, not in a release), and from
  `nifs` (`[{module, path}]`, paths relative to the application directory of `app`, as in
  `callconv: [nifs: ...]`). Returns `{loaders, guarded}`, where `guarded` lists the modules
  that call the guard (their `.beam` has the `callconv_guarded` attribute).
  """
  @spec loaders([Path.t()], keyword()) :: {loaders(), [String.t()]}
  def loaders(roots, opts \\ []) do
    nifs = Keyword.get(opts, :nifs, [])
    app = opts[:app]

    from_beams =
      for root <- roots,
          beam <- Path.wildcard(Path.join(root, "lib/*/ebin/*.beam")),
          {:ok, binary} <- [File.read(beam)],
          # The names are plain text in the atom and attribute chunks: most files are
          # passed over without being parsed.
          :binary.match(binary, ["callconv_", "load_nif"]) != :nomatch do
        case :beam_lib.chunks(binary, [:attributes, :imports]) do
          {:ok, {module, [attributes: attributes, imports: imports]}} ->
            guarded = Keyword.has_key?(attributes, :callconv_guarded)

            loads =
              for {otp_app, path} <- Keyword.get(attributes, :callconv_nif, []),
                  file = library_file(root, otp_app, path),
                  do: {file, Atom.to_string(module)}

            # Only a module that calls :erlang.load_nif/2 has its debug info decoded.
            loads =
              if loads == [] and {:erlang, :load_nif, 2} in imports,
                do: on_load_loads(root, binary, module),
                else: loads

            {loads, if(guarded, do: [Atom.to_string(module)], else: [])}

          _ ->
            {[], []}
        end
      end

    from_config =
      for root <- roots,
          {module, path} <- nifs,
          app != nil,
          file = library_file(root, app, path) do
        {file, module_name(module)}
      end

    loaders = Map.new(Enum.flat_map(from_beams, &elem(&1, 0)) ++ from_config)
    guarded = from_beams |> Enum.flat_map(&elem(&1, 1)) |> Enum.uniq() |> Enum.sort()
    {loaders, guarded}
  end

  # A module with its own @on_load that calls :erlang.load_nif/2 on a path the code spells
  # out: a literal, :filename.join(:code.priv_dir(:app), "..."), Application.app_dir(:app,
  # "..."), through variables and tuples bound before the call (Rustler's `use Rustler`
  # writes `{otp_app, path} = {:my_app, "priv/native/libx"}`). Read from the debug info, so
  # only in a build: a release's stripped .beam files have none.
  defp on_load_loads(root, binary, module) do
    with {:ok, {_, [abstract_code: {:raw_abstract_v1, forms}]}} <-
           :beam_lib.chunks(binary, [:abstract_code]),
         [{name, 0}] <- for({:attribute, _, :on_load, on_load} <- forms, do: on_load),
         [clauses] <- for({:function, _, ^name, 0, cs} <- forms, do: cs) do
      for {:clause, _, [], [], body} <- clauses,
          {app, path} <- load_nif_paths(body, %{}),
          file = library_file(root, app, path),
          do: {file, Atom.to_string(module)}
    else
      _ -> []
    end
  rescue
    # Debug info of another backend or version: nothing learnt.
    _ -> []
  end

  # Walks a clause body in order, binding simple matches, and evaluates the path of every
  # :erlang.load_nif/2 call: {app or nil, path}.
  defp load_nif_paths([], _env), do: []

  defp load_nif_paths([statement | rest], env) do
    found = find_load_nif(statement, env)

    env =
      case statement do
        {:match, _, pattern, expr} -> bind(pattern, path_value(expr, env), env)
        _ -> env
      end

    found ++ load_nif_paths(rest, env)
  end

  defp find_load_nif(
         {:call, _, {:remote, _, {:atom, _, :erlang}, {:atom, _, :load_nif}}, [path, _]},
         env
       ) do
    case path_value(path, env) do
      {:lit, path} -> [{nil, path}]
      {:app, app, path} -> [{app, path}]
      _ -> []
    end
  end

  defp find_load_nif(tuple, env) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> find_load_nif(env)

  defp find_load_nif(list, env) when is_list(list),
    do: Enum.flat_map(list, &find_load_nif(&1, env))

  defp find_load_nif(_, _env), do: []

  defp bind({:var, _, var}, value, env), do: Map.put(env, var, value)

  defp bind({:tuple, _, vars}, {:tuple, values}, env) when length(vars) == length(values) do
    vars |> Enum.zip(values) |> Enum.reduce(env, fn {v, value}, env -> bind(v, value, env) end)
  end

  defp bind(_pattern, _value, env), do: env

  @wrappers [
    {:"Elixir.List.Chars", :to_charlist},
    {:"Elixir.String", :to_charlist},
    {:"Elixir.String.Chars", :to_string},
    {:erlang, :binary_to_list},
    {:erlang, :list_to_binary},
    {:unicode, :characters_to_list},
    {:unicode, :characters_to_binary}
  ]

  # What a path expression is: {:lit, string}, {:atom, atom}, {:priv, app},
  # {:app, app, path relative to the application directory}, {:tuple, values}, or nil.
  defp path_value({:var, _, var}, env), do: Map.get(env, var)
  defp path_value({:atom, _, atom}, _env), do: {:atom, atom}
  defp path_value({:string, _, chars}, _env), do: {:lit, List.to_string(chars)}

  defp path_value({:bin, _, [{:bin_element, _, {:string, _, chars}, :default, :default}]}, _env),
    do: {:lit, List.to_string(chars)}

  defp path_value({:cons, _, _, _} = list, _env) do
    case charlist(list) do
      chars when is_list(chars) -> {:lit, List.to_string(chars)}
      nil -> nil
    end
  end

  defp path_value({:tuple, _, elements}, env),
    do: {:tuple, Enum.map(elements, &path_value(&1, env))}

  defp path_value({:call, _, {:remote, _, {:atom, _, m}, {:atom, _, f}}, args}, env) do
    case {m, f, Enum.map(args, &path_value(&1, env))} do
      {:code, :priv_dir, [{:atom, app}]} ->
        {:priv, app}

      {:"Elixir.Application", :app_dir, [{:atom, app}, {:lit, path}]} ->
        {:app, app, path}

      {join, :join, [base, {:lit, rest}]} when join in [:filename, :"Elixir.Path"] ->
        case base do
          {:priv, app} -> {:app, app, Path.join("priv", rest)}
          {:app, app, path} -> {:app, app, Path.join(path, rest)}
          {:lit, path} -> {:lit, Path.join(path, rest)}
          _ -> nil
        end

      {m, f, [value]} ->
        if {m, f} in @wrappers, do: value

      _ ->
        nil
    end
  end

  defp path_value(_expr, _env), do: nil

  defp charlist({nil, _}), do: []

  defp charlist({:cons, _, {:integer, _, c}, tail}) do
    case charlist(tail) do
      rest when is_list(rest) -> [c | rest]
      nil -> nil
    end
  end

  defp charlist(_), do: nil

  defp library_file(_root, nil, path) when is_binary(path) do
    # A literal path: only an absolute one names a file independent of the working directory.
    if Path.type(path) == :absolute, do: Path.expand(path <> Callconv.Guard.library_extension())
  end

  defp library_file(root, otp_app, path) when is_binary(path) or is_list(path) do
    path = IO.chardata_to_string(path)
    ext = Callconv.Guard.library_extension()

    cond do
      Path.type(path) == :absolute ->
        Path.expand(path <> ext)

      dir = app_dir(root, otp_app) ->
        Path.expand(path <> ext, dir)

      true ->
        nil
    end
  end

  defp library_file(_root, _app, _path), do: nil

  # lib/APP in a build, lib/APP-VSN in a release.
  defp app_dir(root, app) do
    app = to_string(app)

    root
    |> Path.join("lib/*")
    |> Path.wildcard()
    |> Enum.find(&(app_of(&1) == app))
  end

  defp module_name(module) when is_atom(module), do: Atom.to_string(module)

  defp module_name(module) when is_binary(module) do
    if module =~ ~r/^[A-Z]/ and not String.starts_with?(module, "Elixir."),
      do: "Elixir." <> module,
      else: module
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
  `:loaders` - `loaders/2`'s map: a library it names is checked against that module (and
  that module's functions, when its `.beam` is in `beams`) rather than the one it declares.
  `:cache` - a `Callconv.Cache` directory to look each report up in and store it to.
  """
  @spec check([Path.t()], keyword(), %{String.t() => Path.t()}, keyword()) :: [result()]
  def check(paths, check_opts, beams \\ %{}, opts \\ []) do
    progress = Keyword.get(opts, :progress, fn _, _, _ -> :ok end)
    loaders = Keyword.get(opts, :loaders, %{})
    cache = Keyword.get(opts, :cache)
    total = length(paths)

    paths
    |> Enum.with_index(1)
    |> Enum.map(fn {path, i} ->
      progress.(i, total, path)
      {path, check_one(path, check_opts, beams, loaders, cache)}
    end)
  end

  # An explicit :module (mix callconv.check --module) already says which module loads it;
  # else the project's code may say (loaders); else the NIF's own declared module is used.
  defp check_one(path, check_opts, beams, loaders, cache) do
    cond do
      Keyword.has_key?(check_opts, :module) ->
        cached_check(path, cache, check_opts)

      module = Map.get(loaders, Path.expand(path)) ->
        functions =
          with beam when is_binary(beam) <- Map.get(beams, module),
               {:ok, functions} <- beam_functions(beam) do
            [functions: functions]
          else
            _ -> []
          end

        cached_check(path, cache, check_opts ++ [module: module] ++ functions)

      true ->
        check_by_decoded_module(path, check_opts, beams, cache)
    end
  end

  defp check_by_decoded_module(path, check_opts, beams, cache) do
    case cached_check(path, cache, check_opts) do
      {:ok, %Report{nif: %{module: module}}} = first when is_map_key(beams, module) ->
        case module_check_opts(Map.fetch!(beams, module)) do
          [] -> first
          from_beam -> cached_check(path, cache, check_opts ++ [module: module] ++ from_beam)
        end

      other ->
        other
    end
  end

  defp cached_check(path, cache, check_opts) do
    {result, _lookup} = Callconv.Cache.check(path, check_opts, cache)
    result
  end

  @doc """
  A progress printer for `check/4`: writes `checking N/TOTAL path` to standard error when
  more than `threshold` libraries are checked and standard error is a terminal (ANSI
  enabled), overwriting the line; nothing in a pipe or a CI log.
  """
  @spec stderr_progress(non_neg_integer()) :: (pos_integer(), pos_integer(), Path.t() -> :ok)
  def stderr_progress(threshold \\ 5) do
    tty? = IO.ANSI.enabled?()

    fn i, total, path ->
      if total > threshold do
        line = "callconv: checking #{i}/#{total} #{Path.basename(path)}"

        if tty? do
          IO.write(:stderr, "\r\e[2K" <> line <> if(i == total, do: "\n", else: ""))
        end
      end

      :ok
    end
  end
end
