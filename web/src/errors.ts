import { ParleyApiError } from "../../src/client";

/** What to tell the user when a call failed: the server's reason, or a generic line for anything else. */
export function errorText(err: unknown): string {
  if (err instanceof ParleyApiError) return err.code === "user_not_found" ? "No one has that username." : err.message;
  return "Something went wrong. Please try again.";
}
