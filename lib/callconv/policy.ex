defmodule Callconv.Policy do
  @moduledoc """
  What a project accepts: which findings it ignores, whether warnings fail, and which library
  hashes it has locked.

  The checks say what is wrong with a library; a policy turns that into a decision. It is
  applied to a `Callconv.Report` by `apply/3`, which drops ignored findings, adds the lockfile
  findings and recomputes the verdict. `mix callconv.check`, `mix callconv.lock`,
  `Callconv.Release.check/1`, the `:callconv` compiler and `Callconv.load_nif/3` all use it.

    * `:strict` - warnings fail (`verdict: :fail`), as errors do
    * `:ignore` - rule ids, `"RULE:PATH"` strings or `{rule, path}` tuples; `PATH` is a glob
      (`*`, `**`, `?`) matched against the end of the library's path, so
      `"not-a-nif:libhelper.so"` and `"not-a-nif:deps/**"` both work
    * `:lock` - a `Callconv.Lock`; a library whose hash it does not hold fails with
      `lock-hash-changed` or `lock-not-locked`

  In `mix.exs` the same keys go under `callconv:` (see `mix callconv.check`).
  """

  alias Callconv.{Finding, Lock, Report}

  defstruct strict: false, ignore: [], lock: nil

  @typedoc "A rule id, or a rule id limited to paths matching a glob."
  @type ignore :: String.t() | {String.t(), String.t()}

  @type t :: %__MODULE__{strict: boolean(), ignore: [ignore()], lock: Lock.t() | nil}

  @doc """
  Builds a policy from options (`:strict`, `:ignore`, `:lock`).

  ## Examples

      iex> policy = Callconv.Policy.new(strict: true, ignore: ["not-a-nif", "nif-entry-unreadable:deps/**"])
      iex> policy.ignore
      ["not-a-nif", {"nif-entry-unreadable", "deps/**"}]
  """
  @spec new(keyword()) :: t()
  def new(opts \\ []) do
    opts = Keyword.validate!(opts, strict: false, ignore: [], lock: nil)

    %__MODULE__{
      strict: opts[:strict] == true,
      ignore: Enum.map(List.wrap(opts[:ignore]), &parse_ignore/1),
      lock: opts[:lock]
    }
  end

  @doc """
  Parses one ignore entry: `"RULE"` or `"RULE:PATH"`.

  ## Examples

      iex> Callconv.Policy.parse_ignore("not-a-nif")
      "not-a-nif"
      iex> Callconv.Policy.parse_ignore("not-a-nif:priv/*.so")
      {"not-a-nif", "priv/*.so"}
  """
  @spec parse_ignore(ignore() | atom()) :: ignore()
  def parse_ignore({rule, path}), do: {to_string(rule), to_string(path)}
  def parse_ignore(rule) when is_atom(rule), do: Atom.to_string(rule)

  def parse_ignore(entry) when is_binary(entry) do
    case String.split(entry, ":", parts: 2) do
      [rule, path] when path != "" -> {rule, path}
      [rule | _] -> rule
    end
  end

  @doc """
  Applies the policy to a report: drops ignored findings, adds the lockfile finding (the
  library's lock key is `key`, see `Callconv.Lock.key/2`) and recomputes the verdict.
  An `%Callconv.Error{}` passes through unchanged.

  ## Examples

      iex> warn = %Callconv.Finding{rule: "nif-entry-unreadable", severity: :warning, message: "m", hint: "h"}
      iex> report = %Callconv.Report{path: "/p/libx.so", sha256: "00", verdict: :warn, kind: :nif,
      ...>   format: :elf, arch: :x86_64, bits: 64, endian: :little, findings: [warn]}
      iex> Callconv.Policy.apply(report, Callconv.Policy.new(strict: true)).verdict
      :fail
      iex> Callconv.Policy.apply(report, Callconv.Policy.new(ignore: ["nif-entry-unreadable:libx.so"])).verdict
      :pass
  """
  @spec apply(Report.t() | Callconv.Error.t(), t(), String.t() | nil) ::
          Report.t() | Callconv.Error.t()
  def apply(report, policy, key \\ nil)

  def apply(%Report{} = report, %__MODULE__{} = policy, key) do
    findings =
      report.findings
      |> Enum.reject(&ignored?(policy, &1.rule, report.path, key))
      |> Kernel.++(lock_findings(policy, report, key))
      |> Enum.sort_by(&severity_rank(&1.severity))

    %{report | findings: findings, verdict: verdict(findings, policy.strict)}
  end

  def apply(%Callconv.Error{} = error, _policy, _key), do: error

  @doc """
  Whether a policy-applied result must be refused (its verdict is `:fail`, or it could not be
  read at all).
  """
  @spec refused?(Report.t() | Callconv.Error.t()) :: boolean()
  def refused?(%Report{verdict: verdict}), do: verdict == :fail
  def refused?(%Callconv.Error{}), do: true

  @doc false
  @spec ignored?(t(), String.t(), String.t(), String.t() | nil) :: boolean()
  def ignored?(%__MODULE__{ignore: ignore}, rule, path, key) do
    Enum.any?(ignore, fn
      ^rule -> true
      {^rule, glob} -> glob_match?(glob, path) or (key != nil and glob_match?(glob, key))
      _ -> false
    end)
  end

  @doc false
  def glob_match?(glob, path) do
    regex =
      glob
      |> String.trim_leading("./")
      |> Regex.escape()
      |> String.replace("\\*\\*", "\u0000")
      |> String.replace("\\*", "[^/]*")
      |> String.replace("\\?", "[^/]")
      |> String.replace("\u0000", ".*")

    Regex.match?(~r/(^|\/)#{regex}$/u, path)
  end

  defp lock_findings(%__MODULE__{lock: nil}, _report, _key), do: []

  defp lock_findings(%__MODULE__{lock: lock}, report, key) do
    key = key || report.path

    case Lock.compare(lock, key, report.sha256) do
      :ok -> []
      other -> [Lock.finding(other, key, report.sha256)]
    end
  end

  defp verdict(findings, strict) do
    cond do
      Enum.any?(findings, &(&1.severity == :error)) -> :fail
      Enum.any?(findings, &(&1.severity == :warning)) -> if strict, do: :fail, else: :warn
      true -> :pass
    end
  end

  defp severity_rank(:error), do: 0
  defp severity_rank(:warning), do: 1
  defp severity_rank(_), do: 2

  @doc false
  @spec finding_line(Finding.t()) :: String.t()
  def finding_line(%Finding{} = f), do: "[#{f.rule}] #{f.message} (fix: #{f.hint})"
end
