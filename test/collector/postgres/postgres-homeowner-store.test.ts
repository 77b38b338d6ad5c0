import { PostgresHomeownerStore } from '../../../collector/postgres/postgres-homeowner-store.js'
import { homeownerStoreContract } from '../store/contracts/homeowner-store.contract.js'
import { usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()
let currentUrl = ''

homeownerStoreContract('postgres', {
  async create() {
    currentUrl = await suite.freshDatabase()
    return new PostgresHomeownerStore(await suite.connect(currentUrl))
  },
  async reopen() {
    return new PostgresHomeownerStore(await suite.connect(currentUrl))
  },
})
