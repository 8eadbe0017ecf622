defmodule Callconv.Cache do
  @moduledoc """
  A result cache for the Mix tasks: re-checking an unchanged library is a lookup.

  `mix callconv.check` and the `:callconv` compiler keep each report in
  `_build/<env>/callconv/cache/`, one file per entry, named by a digest of everything the
  report is a function of:

    * the library's SHA-256 and the path it was checked at (the report names it, and
      `$ORIGIN`/`@loader_path` resolve from it);
    * the target, as `Callconv.target/1` resolves it from the options;
    * every option of `Callconv.check/2` given (module, functions, NIFs, analysis mode,
      isolation);
    * callconv's version and this cache's format.

  A library that needs other libraries is checked against where the loader would find them
  (its own directory, `RPATH`/`RUNPATH`, `LD_LIBRARY_PATH`, `ld.so.conf` and the system
  directories): its entry also stores the identity (size, times, inode) of each place a
  needed library could be and of the loader's configuration files, and a hit needs them
  unchanged. Checks whose result depends on more are never cached: `:probe` (it runs code),
  `:root` (a whole file system), and a `:module` given as an atom without both `:functions`
  and `:nifs` (the VM's loaded code decides those).

  The cache never changes a verdict: a missing, unreadable, corrupt or mismatched entry is a
  miss and the library is checked; errors (unreadable files) are not cached; an entry is
  written only when the file hashed for the key is the file the report describes, and
  written whole (a temporary file, then a rename), so a concurrent run never reads half of
  one. Delete the directory to clear it; `--force` on the compiler bypasses it.

  The guard (`Callconv.load_nif/3`, `use Callconv.Guard`) does not use it: a boot must never
  depend on a writable directory, and the guard already keeps each verdict in memory for the
  VM's life (see `Callconv.Guard`).
  """

  alias Callconv.Report

  # Bumped whenever an entry's layout or the key's contents change.
  @format 1

  @doc """
  The cache directory of the current Mix project and environment.
  """
  @spec dir() :: Path.t()
  def dir, do: Path.join([Mix.Project.build_path(), "callconv", "cache"])

  @doc """
  Like `Callconv.check/2`, through the cache in `dir` (no cache when `dir` is `nil`).

  Returns `{result, :hit | :miss | :uncached}`, where `result` is what `Callconv.check/2`
  returns.
  """
  @spec check(Path.t(), keyword(), Path.t() | nil) ::
          {{:ok, Report.t()} | {:error, Callconv.Error.t()}, :hit | :miss | :uncached}
  def check(path, opts, nil), do: {Callconv.check(path, opts), :uncached}

  def check(path, opts, dir) do
    with true <- cacheable?(opts),
         {:ok, target} <- Callconv.target(opts),
         path = IO.chardata_to_string(path),
         {:ok, sha} <- Callconv.Native.file_sha256(path) do
      key = {@format, version(), sha, path, target_digest(target), Enum.sort(opts)}
      file = Path.join(dir, digest(:erlang.term_to_binary(key)) <> ".etf")

      case read(file, key, path) do
        {:ok, report} ->
          {{:ok, report}, :hit}

        :miss ->
          result = Callconv.check(path, opts)

          with {:ok, %Report{sha256: ^sha} = report} <- result do
            write(file, key, fingerprint(report, path), report)
          end

          {result, :miss}
      end
    else
      _ -> {Callconv.check(path, opts), :uncached}
    end
  end

  defp cacheable?(opts) do
    explicit_module? =
      not is_atom(opts[:module]) or is_nil(opts[:module]) or
        (is_list(opts[:functions]) and (is_list(opts[:nifs]) or opts[:nifs] == false))

    opts[:probe] in [nil, false] and is_nil(opts[:root]) and explicit_module?
  end

  # A target is a large term (tens of KB: its symbol tables); the key holds its digest,
  # computed once per process for the same target.
  defp target_digest(target) do
    case Process.get({__MODULE__, :target}) do
      {^target, digest} ->
        digest

      _ ->
        digest = :erlang.md5(:erlang.term_to_binary(target))
        Process.put({__MODULE__, :target}, {target, digest})
        digest
    end
  end

  defp version do
    case Application.spec(:callconv, :vsn) do
      nil -> "unknown"
      vsn -> to_string(vsn)
    end
  end

  # MD5 is built into the VM (:crypto may be absent): it only names entries and catches
  # corruption. A wrong entry under a name is a miss anyway, since every entry holds its key.
  defp digest(binary), do: Base.encode16(:erlang.md5(binary), case: :lower)

  defp read(file, key, path) do
    with {:ok, <<sum::binary-size(16), payload::binary>>} <- File.read(file),
         true <- :erlang.md5(payload) == sum,
         {:callconv_cache, ^key, fingerprint, %Report{} = report} <- decode(payload),
         true <- fingerprint == fingerprint(report, path) do
      {:ok, report}
    else
      _ -> :miss
    end
  end

  # :safe refuses to create atoms: an entry never adds one to the VM.
  defp decode(payload) do
    :erlang.binary_to_term(payload, [:safe])
  rescue
    ArgumentError -> :corrupt
  end

  defp write(file, key, fingerprint, report) do
    payload = :erlang.term_to_binary({:callconv_cache, key, fingerprint, report})
    tmp = "#{file}.#{System.unique_integer([:positive])}.tmp"

    with :ok <- File.mkdir_p(Path.dirname(file)),
         :ok <- File.write(tmp, [:erlang.md5(payload), payload]),
         :ok <- File.rename(tmp, file) do
      :ok
    else
      _ ->
        File.rm(tmp)
        :ok
    end
  end

  # What a check read from the file system besides the library: the identity of every place
  # a needed library could be found, and of the loader's configuration.
  defp fingerprint(%Report{needed: []}, _path), do: []

  defp fingerprint(%Report{} = report, path) do
    origin = Path.dirname(Path.expand(path))
    elf = report.elf || %{}

    from_library =
      for dir <- List.wrap(elf[:rpath]) ++ List.wrap(elf[:runpath]),
          do: dir |> String.replace("${ORIGIN}", origin) |> String.replace("$ORIGIN", origin)

    from_env =
      case System.get_env("LD_LIBRARY_PATH") do
        nil -> []
        value -> String.split(value, ":", trim: true)
      end

    lists =
      ["/etc/ld.so.conf"] ++
        Path.wildcard("/etc/ld.so.conf.d/*") ++ Path.wildcard("/etc/ld-musl-*.path")

    confs = ["/etc/ld.so.cache" | lists]

    # Multiarch directories (x86_64-linux-gnu, ...): every name of /lib and /usr/lib with two
    # dashes or more.
    multiarch =
      for base <- ["/lib", "/usr/lib"],
          {:ok, names} <- [File.ls(base)],
          name <- names,
          match?([_, _, _ | _], String.split(name, "-", parts: 3)),
          do: Path.join(base, name)

    system =
      Enum.flat_map(lists, &conf_dirs/1) ++
        multiarch ++ ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"]

    dirs = Enum.uniq([origin | from_library] ++ from_env ++ system)

    places =
      for name <- report.needed,
          candidate <- [name | Enum.map(dirs, &Path.join(&1, Path.basename(name)))],
          do: candidate

    Enum.map(Enum.uniq(places) ++ confs, &{&1, identity(&1)})
  end

  # The absolute directories an ld.so.conf-like file lists (includes are matched by the
  # wildcard of /etc/ld.so.conf.d; a file's own identity is in the fingerprint too).
  defp conf_dirs(file) do
    case File.read(file) do
      {:ok, text} when byte_size(text) < 65_536 ->
        if String.valid?(text) do
          for line <- String.split(text, ["\n", ":"]),
              dir = String.trim(line),
              String.starts_with?(dir, "/"),
              do: dir
        else
          []
        end

      _ ->
        []
    end
  end

  defp identity(path) do
    case File.stat(path, time: :posix) do
      {:ok, s} -> {s.type, s.size, s.mtime, s.ctime, s.inode}
      {:error, _} -> :none
    end
  end
end
