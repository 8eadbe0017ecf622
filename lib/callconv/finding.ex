defmodule Callconv.Finding do
  @moduledoc """
  One problem or observation about a library.

    * `:rule` - the stable rule id, such as `"nif-version-too-new"` (`docs/reference/rules.md` lists them all)
    * `:severity` - `:error` (will not load, or unsafe), `:warning` or `:info`
    * `:message` - what is wrong, naming the cause
    * `:hint` - how to fix it
  """

  @enforce_keys [:rule, :severity, :message, :hint]
  defstruct [:rule, :severity, :message, :hint]

  @type severity :: :error | :warning | :info
  @type t :: %__MODULE__{
          rule: String.t(),
          severity: severity(),
          message: String.t(),
          hint: String.t()
        }
end
