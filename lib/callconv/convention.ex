defmodule Callconv.Convention do
  @moduledoc """
  One machine-level C calling convention of callconv's model.

  The model is the one source of truth the checks use; `Callconv.conventions/1` returns it and
  `mix callconv.conventions` renders it as a chart. Register names are spelled the way the
  capstone disassembler spells them for the architecture (so AArch64's x29/x30 are `"fp"` and
  `"lr"`, s390x's r6 is `"6"`).

    * `:id` - stable kebab-case id, such as `"x86_64-sysv"` (the report's `abi` field)
    * `:name`, `:arch` (Rust `target_arch` spelling), `:platforms`, `:typical_use`
    * `:is_calling_convention` - `false` only for the threaded-code counterexample
    * `:int_args`, `:float_args`, `:vector_args` - argument registers, in order
    * `:int_return`, `:float_return` - return registers
    * `:callee_saved`, `:caller_saved` - whole registers; `:partially_saved` lists registers
      of which only part is preserved, as `%{reg: "v8", preserved_bits: 64, preserved_view: "d8"}`
    * `:stack_cleanup` - `:caller`, `:callee` (`ret N`) or `:not_applicable`
    * `:stack_align`, `:red_zone`, `:shadow_space` - in bytes
    * `:stack_pointer`, `:frame_pointer`, `:link_register`
    * `:reserved` - registers with a platform role, as `%{reg: "x18", role: ...}`
    * `:variadic` - how variadic calls differ
    * `:source` - where the facts come from
  """

  @enforce_keys [:id, :arch]
  defstruct [
    :id,
    :name,
    :arch,
    :typical_use,
    :stack_cleanup,
    :stack_align,
    :red_zone,
    :shadow_space,
    :stack_pointer,
    :frame_pointer,
    :link_register,
    :variadic,
    :source,
    is_calling_convention: true,
    platforms: [],
    int_args: [],
    float_args: [],
    vector_args: [],
    int_return: [],
    float_return: [],
    callee_saved: [],
    partially_saved: [],
    caller_saved: [],
    reserved: []
  ]

  @type t :: %__MODULE__{
          id: String.t(),
          name: String.t(),
          arch: String.t(),
          platforms: [String.t()],
          typical_use: String.t(),
          is_calling_convention: boolean(),
          int_args: [String.t()],
          float_args: [String.t()],
          vector_args: [String.t()],
          int_return: [String.t()],
          float_return: [String.t()],
          callee_saved: [String.t()],
          partially_saved: [
            %{reg: String.t(), preserved_bits: pos_integer(), preserved_view: String.t()}
          ],
          caller_saved: [String.t()],
          stack_cleanup: :caller | :callee | :not_applicable,
          stack_align: non_neg_integer(),
          red_zone: non_neg_integer(),
          shadow_space: non_neg_integer(),
          stack_pointer: String.t(),
          frame_pointer: String.t() | nil,
          link_register: String.t() | nil,
          reserved: [%{reg: String.t(), role: String.t()}],
          variadic: String.t(),
          source: String.t()
        }
end
