/** An error caused by the user's input (bad file, bad option). The CLI prints its message without a stack. */
export class UserError extends Error {
  override name = "UserError";
}
