/** The Worker's bindings (declared in globals.d.ts so the runtime's `env` has the same type). */
export type Env = Cloudflare.Env;

export function directoryStub(env: Env, username: string) {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName(username));
}
