defmodule Mix.Tasks.Callconv.Conventions do
  @shortdoc "Prints the calling-convention chart"

  @moduledoc """
  Prints the comparison chart of machine-level C calling conventions, generated from
  callconv's model (the same data the checks use).

      $ mix callconv.conventions [--arch ARCH] [--format table|markdown|json]

  ## Command line options

    * `--arch` - only the conventions of this architecture, in Rust `target_arch` spelling
      (`x86`, `x86_64`, `aarch64`, `arm`, `riscv64`, `riscv32`, `powerpc64`, `powerpc`, `mips`,
      `mips64`, `sparc`, `sparc64`, `s390x`, `loongarch64`)
    * `--format` - `table` (the default, aligned columns), `markdown`, or `json` (the whole
      model: every field of every convention, plus the language spellings)

  ## Exit status

    * `0` - the chart was printed
    * `2` - usage error (unknown option or format, or an architecture the model does not have)
  """

  use Mix.Task

  @switches [arch: :string, format: :string]

  @impl true
  def run(args) do
    {opts, rest} =
      try do
        OptionParser.parse!(args, strict: @switches)
      rescue
        e in OptionParser.ParseError -> usage_error(Exception.message(e))
      end

    if rest != [], do: usage_error("unexpected arguments: #{Enum.join(rest, " ")}")

    format = Keyword.get(opts, :format, "table")

    unless format in ~w(table markdown json),
      do: usage_error("--format must be table, markdown or json, got: #{format}")

    arch = Keyword.get(opts, :arch)

    Mix.Task.run("app.config")

    if arch && Callconv.conventions(arch) == [] do
      known = Callconv.conventions() |> Enum.map(& &1.arch) |> Enum.uniq() |> Enum.join(", ")
      usage_error("no conventions for --arch #{arch}; known: #{known}")
    end

    Mix.shell().info(String.trim_trailing(Callconv.Native.conventions_chart(arch, format)))
  end

  defp usage_error(message) do
    Mix.raise("mix callconv.conventions: #{message}", exit_status: 2)
  end
end
