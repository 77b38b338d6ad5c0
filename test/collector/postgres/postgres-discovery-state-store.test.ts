import { PostgresDiscoveryStateStore } from '../../../collector/postgres/postgres-discovery-state-store.js'
import { discoveryStateStoreContract } from '../store/contracts/discovery-state-store.contract.js'
import { databaseHarness, usePostgresSuite } from './postgres-suite.js'

const suite = usePostgresSuite()

discoveryStateStoreContract(
  'postgres',
  databaseHarness(suite, (_url, db) => new PostgresDiscoveryStateStore(db)),
)
