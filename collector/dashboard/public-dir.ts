import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

/**
 * The web app's static files. Sources and the build both find them in the source tree
 * (collector/dashboard/public), which the container image copies next to dist/.
 */
export function dashboardPublicDir(): string {
  const here = import.meta.dirname
  const beside = join(here, 'public')
  if (existsSync(beside)) return beside
  return resolve(here, '../../../collector/dashboard/public')
}
