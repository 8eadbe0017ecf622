defmodule Callconv.SarifSchema do
  @moduledoc false
  # Validates a SARIF log against the official SARIF 2.1.0 JSON schema
  # (sarif-2.1.0-rtm.5.json, as shipped in the npm package @microsoft/jest-sarif), with the
  # Python jsonschema package (PyPI). The schema is fetched once with `npm pack` into
  # test/fixtures/cache/ (git-ignored).

  @package "@microsoft/jest-sarif@1.0.0-beta.0"
  @cache Path.expand("../fixtures/cache/sarif-schema", __DIR__)
  @schema Path.join(@cache, "package/lib/schemas/sarif-2.1.0-rtm.5.json")

  def schema_path do
    if File.exists?(@schema) do
      {:ok, @schema}
    else
      with npm when is_binary(npm) <- System.find_executable("npm") || {:skip, "no npm"},
           :ok <- File.mkdir_p(@cache),
           {_, 0} <-
             System.cmd(npm, ["pack", "--silent", @package],
               cd: @cache,
               stderr_to_stdout: true
             ),
           [tgz | _] <- Path.wildcard(Path.join(@cache, "*.tgz")),
           {_, 0} <- System.cmd("tar", ["xzf", tgz], cd: @cache) do
        {:ok, @schema}
      else
        {:skip, why} -> {:skip, why}
        other -> {:skip, "could not fetch #{@package}: #{inspect(other)}"}
      end
    end
  end

  def validate(file) do
    with {:ok, schema} <- schema_path(),
         python when is_binary(python) <-
           System.find_executable("python3") || {:skip, "no python3"} do
      script = """
      import json, sys
      try:
          import jsonschema
      except ImportError:
          print("SKIP no jsonschema"); sys.exit(0)
      schema = json.load(open(sys.argv[1]))
      log = json.load(open(sys.argv[2]))
      errors = list(jsonschema.Draft4Validator(schema).iter_errors(log))
      for e in errors[:20]:
          print("/".join(map(str, e.absolute_path)) + ": " + e.message)
      sys.exit(1 if errors else 0)
      """

      case System.cmd(python, ["-c", script, schema, file], stderr_to_stdout: true) do
        {"SKIP " <> why, 0} -> {:skip, why}
        {_, 0} -> :ok
        {out, _} -> {:error, out}
      end
    end
  end
end
