defmodule Callconv.Nif do
  @moduledoc """
  A decoded `ErlNifEntry`: what the library tells the BEAM about itself.

    * `:major`, `:minor` - the NIF version it was built for
    * `:module` - the module that must call `load_nif/2`, as a string
    * `:functions` - the function table, a list of `Callconv.Nif.Function`
    * `:load`, `:reload`, `:upgrade`, `:unload` - whether each callback is set
    * `:vm_variant` - normally `"beam.vanilla"`
    * `:options` - the options word (NIF 2.7 and later)
    * `:min_erts` - the oldest runtime it claims to support, such as `"erts-12.0"`
    * `:decoded_by` - how the entry was found, such as `"static:x86_64"`
  """

  @enforce_keys [:major, :minor, :module]
  defstruct [
    :major,
    :minor,
    :module,
    :vm_variant,
    :options,
    :min_erts,
    :decoded_by,
    functions: [],
    load: false,
    reload: false,
    upgrade: false,
    unload: false
  ]

  @type t :: %__MODULE__{
          major: integer(),
          minor: integer(),
          module: String.t(),
          functions: [Callconv.Nif.Function.t()],
          load: boolean(),
          reload: boolean(),
          upgrade: boolean(),
          unload: boolean(),
          vm_variant: String.t() | nil,
          options: non_neg_integer() | nil,
          min_erts: String.t() | nil,
          decoded_by: String.t()
        }

  defmodule Function do
    @moduledoc """
    One entry of a NIF's function table: `name/arity` and its dirty-scheduler `flags`
    (0, 1 for dirty CPU, 2 for dirty IO).
    """
    @enforce_keys [:name, :arity, :flags]
    defstruct [:name, :arity, :flags]

    @type t :: %__MODULE__{name: String.t(), arity: non_neg_integer(), flags: non_neg_integer()}
  end
end
