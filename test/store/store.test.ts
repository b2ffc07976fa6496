import { withTestStores } from '../support/store-factory';
import { storeContract } from './store-contract';

withTestStores(storeContract);
