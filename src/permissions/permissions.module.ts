import { Module } from '@nestjs/common';
import { PermissionsController } from './permissions.controller.js';

/** GET /api/public/permissions/:packageName. Repositories come from the global PersistenceModule. */
@Module({ controllers: [PermissionsController] })
export class PermissionsModule {}
