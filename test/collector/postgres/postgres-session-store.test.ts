import { PostgresSessionStore } from '../../../collector/postgres/postgres-session-store.js'
import { sessionStoreContract } from '../store/contracts/session-store.contract.js'
import { usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()
let currentUrl = ''

sessionStoreContract('postgres', {
  async create() {
    currentUrl = await suite.freshDatabase()
    return new PostgresSessionStore(await suite.connect(currentUrl))
  },
  async reopen() {
    return new PostgresSessionStore(await suite.connect(currentUrl))
  },
})
