defmodule Callconv.Error do
  @moduledoc """
  A library could not be checked at all: it is missing, unreadable, not a regular file, empty,
  not a native library, or malformed.

  Returned as `{:error, %Callconv.Error{}}` by `Callconv.check/2` and raised by
  `Callconv.check!/2`. Public fields:

    * `:reason` - one of `:"not-found"`, `:"permission-denied"`, `:io`, `:"not-regular"`,
      `:empty`, `:"too-large"`, `:"unknown-format"`, `:malformed`, or `:unavailable` (the
      guard: callconv's own native library could not be loaded)
    * `:path` - the path that was given
    * `:message` - a sentence naming the path and the problem
  """

  defexception [:reason, :path, :message]

  @type reason ::
          :"not-found"
          | :"permission-denied"
          | :io
          | :"not-regular"
          | :empty
          | :"too-large"
          | :"unknown-format"
          | :malformed
          | :unavailable
  @type t :: %__MODULE__{reason: reason(), path: String.t(), message: String.t()}
end
