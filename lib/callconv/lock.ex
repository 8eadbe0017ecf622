defmodule Callconv.Lock do
  @moduledoc """
  `callconv.lock`: the native libraries a project has approved, by content hash.

  `mix callconv.lock` writes it; `mix callconv.check --locked`, `Callconv.Release.check/1`
  (with `callconv: [locked: true]`) and `Callconv.load_nif(..., lockfile: path)` refuse a
  library whose SHA-256 is not the one locked for its path (`lock-hash-changed`) or whose
  path is not locked at all (`lock-not-locked`). A checksum is not a conformance check (an
  x86-64 binary can match the hash in an aarch64 asset), which is why the lock records what
  the library *is* next to its hash, and why the checks still run on a locked library.

  ## Format (version 1)

  Plain text, one library per line, sorted by path, so that a change shows as a one-line diff:

      # callconv.lock format 1: native libraries approved by `mix callconv.lock`.
      # Regenerate with `mix callconv.lock` and review the diff like code.
      # sha256 size arch abi nif-module nif-version verdict path
      9f86d0…c2e1 18464 x86_64 x86_64-sysv Elixir.MyApp.Native 2.16 pass my_app/priv/native/libmy_nif.so

  Fields are separated by one space; the path is last and may contain spaces. `-` stands for
  an absent value (`abi` unknown, or `nif-module`/`nif-version` for a library that is not a
  NIF). Lines starting with `#` and blank lines are ignored. The first line names the format
  version; readers refuse a version they do not know.

  ## Where it lives

  `priv/callconv.lock` in the project root, unless `callconv: [lockfile: ...]` in `mix.exs`
  (or `--lockfile`) says otherwise; `path/3` resolves it for every task and the release
  step. Under `priv/` it ships in the release (`lib/APP-VSN/priv/callconv.lock`), where the
  guard reads it (`use Callconv.Guard, ..., lockfile: "priv/callconv.lock"`).

  ## Paths

  A library under a `lib/APP/priv/` or `lib/APP-VSN/priv/` directory (a Mix build or an
  assembled release) is locked as `APP/priv/REST`, so one lock serves `_build/dev`,
  `_build/prod` and the release alike. Any other library is locked by its path relative to
  the project root (or its absolute path when outside). See `key/2`.
  """

  alias Callconv.{Finding, Report}

  @format_version 1
  @format_string Integer.to_string(@format_version)
  @header """
  # callconv.lock format #{@format_version}: native libraries approved by `mix callconv.lock`.
  # Regenerate with `mix callconv.lock` and review the diff like code.
  # sha256 size arch abi nif-module nif-version verdict path
  """

  defmodule Entry do
    @moduledoc """
    One locked library: its lock key (`:path`), `:sha256`, `:size` in bytes, `:arch`, `:abi`,
    NIF `:module` and `:nif_version` (`nil` when not a NIF) and the `:verdict` it had.
    """
    @enforce_keys [:path, :sha256]
    defstruct [:path, :sha256, :size, :arch, :abi, :module, :nif_version, :verdict]

    @type t :: %__MODULE__{
            path: String.t(),
            sha256: String.t(),
            size: non_neg_integer() | nil,
            arch: String.t() | nil,
            abi: String.t() | nil,
            module: String.t() | nil,
            nif_version: String.t() | nil,
            verdict: String.t() | nil
          }
  end

  defstruct entries: []

  @type t :: %__MODULE__{entries: [Entry.t()]}

  @typedoc "How a library compares with the lock."
  @type comparison :: :ok | {:changed, [Entry.t()]} | :not_locked

  @default_path "priv/callconv.lock"

  @doc """
  The project's lockfile: `explicit` (a `--lockfile` option) if given, else the `:lockfile`
  of the `callconv:` configuration, else `#{@default_path}`; relative to `root`.

  ## Examples

      iex> Callconv.Lock.path([], nil, "/p")
      "/p/priv/callconv.lock"
      iex> Callconv.Lock.path([lockfile: "ci/native.lock"], nil, "/p")
      "/p/ci/native.lock"
      iex> Callconv.Lock.path([lockfile: "ci/native.lock"], "/tmp/x.lock", "/p")
      "/tmp/x.lock"
  """
  @spec path(keyword(), Path.t() | nil, Path.t()) :: Path.t()
  def path(config, explicit, root) do
    Path.expand(explicit || config[:lockfile] || @default_path, root)
  end

  @doc """
  Whether the `callconv:` configuration locks the project: `locked: true`, or a `:lockfile`
  without `locked: false`.

  ## Examples

      iex> Callconv.Lock.locked?(locked: true)
      true
      iex> Callconv.Lock.locked?(lockfile: "ci/native.lock")
      true
      iex> Callconv.Lock.locked?(lockfile: "ci/native.lock", locked: false)
      false
  """
  @spec locked?(keyword()) :: boolean()
  def locked?(config) do
    case Keyword.fetch(config, :locked) do
      {:ok, locked} -> locked == true
      :error -> Keyword.has_key?(config, :lockfile)
    end
  end

  @doc """
  The default lockfile, relative to the project root (or, for the guard, the application
  directory).
  """
  @spec default_path() :: String.t()
  def default_path, do: @default_path

  @doc """
  Reads a lockfile for a check: like `read/1`, but a missing file's message names the
  command that writes it.
  """
  @spec read_for_check(Path.t()) :: {:ok, t()} | {:error, String.t()}
  def read_for_check(path) do
    case read(path) do
      {:ok, lock} ->
        {:ok, lock}

      {:error, why} ->
        hint =
          if File.exists?(path),
            do: "fix it, or delete it and run mix callconv.lock to write it again",
            else: "run mix callconv.lock to write it"

        {:error, "callconv.lock: #{why}; #{hint}"}
    end
  end

  @doc """
  The key a library is locked under: `APP/priv/REST` for a library in a Mix build or a
  release, else its path relative to `root`.

  ## Examples

      iex> Callconv.Lock.key("/p/_build/prod/lib/my_app/priv/native/libx.so", "/p")
      "my_app/priv/native/libx.so"
      iex> Callconv.Lock.key("/r/_build/prod/rel/my_app/lib/my_app-0.1.0/priv/native/libx.so", "/p")
      "my_app/priv/native/libx.so"
      iex> Callconv.Lock.key("/p/vendor/libx.so", "/p")
      "vendor/libx.so"
      iex> Callconv.Lock.key("/elsewhere/libx.so", "/p")
      "/elsewhere/libx.so"
  """
  @spec key(Path.t(), Path.t()) :: String.t()
  def key(path, root) do
    path = Path.expand(path)

    case Regex.run(~r{(?:^|/)lib/([^/]+?)(?:-\d[^/]*)?/priv/(.+)$}, path) do
      [_, app, rest] ->
        "#{app}/priv/#{rest}"

      nil ->
        root = Path.expand(root)

        case Path.relative_to(path, root) do
          ^path -> path
          relative -> relative
        end
    end
  end

  @doc """
  The lock entry for a checked library.
  """
  @spec entry(Report.t(), String.t(), non_neg_integer() | nil) :: Entry.t()
  def entry(%Report{} = report, key, size) do
    %Entry{
      path: key,
      sha256: report.sha256,
      size: size,
      arch: to_string(report.arch),
      abi: report.abi,
      module: report.nif && report.nif.module,
      nif_version: report.nif && "#{report.nif.major}.#{report.nif.minor}",
      verdict: to_string(report.verdict)
    }
  end

  @doc """
  Parses a lockfile's text.

  ## Examples

      iex> text = "# callconv.lock format 1\\nab12 10 x86_64 - - - pass lib dir/libx.so\\n"
      iex> {:ok, lock} = Callconv.Lock.parse(text)
      iex> [%Callconv.Lock.Entry{path: "lib dir/libx.so", abi: nil, size: 10}] = lock.entries
      iex> Callconv.Lock.parse("# callconv.lock format 9\\n")
      {:error, "unsupported callconv.lock format 9 (this callconv reads format 1)"}
  """
  @spec parse(String.t()) :: {:ok, t()} | {:error, String.t()}
  def parse(text) do
    lines = String.split(text, ["\r\n", "\n"])

    with :ok <- check_version(lines) do
      lines
      |> Enum.with_index(1)
      |> Enum.reject(fn {line, _} -> String.trim(line) == "" or String.starts_with?(line, "#") end)
      |> Enum.reduce_while({:ok, []}, fn {line, n}, {:ok, acc} ->
        case parse_line(line) do
          {:ok, entry} -> {:cont, {:ok, [entry | acc]}}
          :error -> {:halt, {:error, "line #{n}: expected 8 fields, got: #{inspect(line)}"}}
        end
      end)
      |> case do
        {:ok, entries} -> {:ok, %__MODULE__{entries: Enum.reverse(entries)}}
        error -> error
      end
    end
  end

  defp check_version(lines) do
    case Enum.find_value(lines, &Regex.run(~r/^#\s*callconv\.lock format (\d+)/, &1)) do
      nil -> :ok
      [_, @format_string] -> :ok
      [_, v] -> {:error, "unsupported callconv.lock format #{v} (this callconv reads format 1)"}
    end
  end

  defp parse_line(line) do
    case String.split(String.trim_trailing(line), " ", parts: 8) do
      [sha, size, arch, abi, module, nif, verdict, path] when path != "" ->
        {:ok,
         %Entry{
           path: path,
           sha256: String.downcase(sha),
           size: parse_size(size),
           arch: dash(arch),
           abi: dash(abi),
           module: dash(module),
           nif_version: dash(nif),
           verdict: dash(verdict)
         }}

      _ ->
        :error
    end
  end

  defp parse_size(size) do
    case Integer.parse(size) do
      {n, ""} -> n
      _ -> nil
    end
  end

  defp dash("-"), do: nil
  defp dash(value), do: value

  @doc """
  Reads and parses a lockfile.
  """
  @spec read(Path.t()) :: {:ok, t()} | {:error, String.t()}
  def read(path) do
    case File.read(path) do
      {:ok, text} ->
        case parse(text) do
          {:ok, lock} -> {:ok, lock}
          {:error, why} -> {:error, "#{path}: #{why}"}
        end

      {:error, reason} ->
        {:error, "could not read #{path}: #{:file.format_error(reason)}"}
    end
  end

  @doc """
  The lockfile's text for these entries: sorted by path, then hash, one line each.

  ## Examples

      iex> entry = %Callconv.Lock.Entry{path: "a/priv/x.so", sha256: "ab", size: 1, arch: "x86_64",
      ...>   abi: "x86_64-sysv", module: "Elixir.A", nif_version: "2.16", verdict: "pass"}
      iex> Callconv.Lock.encode([entry]) |> String.split("\\n") |> Enum.at(3)
      "ab 1 x86_64 x86_64-sysv Elixir.A 2.16 pass a/priv/x.so"
  """
  @spec encode([Entry.t()]) :: String.t()
  def encode(entries) do
    lines =
      entries
      |> Enum.sort_by(&{&1.path, &1.sha256})
      |> Enum.uniq_by(&{&1.path, &1.sha256})
      |> Enum.map(fn e ->
        [e.sha256, e.size, e.arch, e.abi, e.module, e.nif_version, e.verdict]
        |> Enum.map(&field/1)
        |> Kernel.++([e.path])
        |> Enum.join(" ")
      end)

    @header <> Enum.map_join(lines, &(&1 <> "\n"))
  end

  defp field(nil), do: "-"
  defp field(""), do: "-"
  defp field(value), do: value |> to_string() |> String.replace(~r/\s/, "_")

  @doc """
  Writes the lockfile for these entries.
  """
  @spec write!(Path.t(), [Entry.t()]) :: :ok
  def write!(path, entries) do
    File.mkdir_p!(Path.dirname(path))
    File.write!(path, encode(entries))
  end

  @doc """
  Compares a library's hash with the lock: `:ok` when the lock holds that hash for `key`,
  `{:changed, entries}` when it holds other hashes for `key`, `:not_locked` when it holds
  none.

  ## Examples

      iex> lock = %Callconv.Lock{entries: [%Callconv.Lock.Entry{path: "a/priv/x.so", sha256: "ab"}]}
      iex> Callconv.Lock.compare(lock, "a/priv/x.so", "ab")
      :ok
      iex> {:changed, [_]} = Callconv.Lock.compare(lock, "a/priv/x.so", "cd")
      iex> Callconv.Lock.compare(lock, "b/priv/y.so", "ab")
      :not_locked
  """
  @spec compare(t(), String.t(), String.t()) :: comparison()
  def compare(%__MODULE__{entries: entries}, key, sha256) do
    case Enum.filter(entries, &(&1.path == key)) do
      [] ->
        :not_locked

      locked ->
        if Enum.any?(locked, &(&1.sha256 == String.downcase(sha256))),
          do: :ok,
          else: {:changed, locked}
    end
  end

  @doc """
  The finding for a failed comparison, naming the difference.
  """
  @spec finding({:changed, [Entry.t()]} | :not_locked, String.t(), String.t()) :: Finding.t()
  def finding(:not_locked, key, sha256) do
    %Finding{
      rule: "lock-not-locked",
      severity: :error,
      message: "#{key} (sha256 #{short(sha256)}) is not in callconv.lock",
      hint: "review the library, then run mix callconv.lock to approve it"
    }
  end

  def finding({:changed, locked}, key, sha256) do
    was =
      Enum.map_join(locked, "; ", fn e ->
        desc =
          [e.arch, e.module && "#{e.module} #{e.nif_version}", e.size && "#{e.size} bytes"]
          |> Enum.reject(&is_nil/1)
          |> Enum.join(", ")

        "#{short(e.sha256)} (#{desc})"
      end)

    %Finding{
      rule: "lock-hash-changed",
      severity: :error,
      message: "#{key} has sha256 #{short(sha256)}, but callconv.lock approved #{was}",
      hint:
        "if the new build is intended, review it and run mix callconv.lock; otherwise restore the approved artifact"
    }
  end

  defp short(sha) when byte_size(sha) > 16, do: binary_part(sha, 0, 16) <> "…"
  defp short(sha), do: sha
end
