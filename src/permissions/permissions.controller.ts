import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PACKAGE_NAME_PATTERN } from '../admin/dto/app.dto.js';
import { CloudError } from '../common/cloud-error.js';
import { APP_REPOSITORY, type AppPermission, type AppRepository } from '../persistence/persistence.types.js';

/**
 * The SDK's own permission check: it fetches this before onTranscription,
 * location streams, requestPhoto… and only prints a warning. Public, as upstream: permissions are not secret.
 */
@ApiTags('sdk: permissions')
@Controller('api/public/permissions')
export class PermissionsController {
  constructor(@Inject(APP_REPOSITORY) private readonly apps: AppRepository) {}

  @Get(':packageName')
  @ApiOperation({ summary: "An app's declared permissions" })
  @ApiOkResponse({
    schema: {
      example: {
        success: true,
        packageName: 'com.example.notes',
        permissions: [{ type: 'MICROPHONE', description: 'for captions' }],
      },
    },
  })
  async get(
    @Param('packageName') packageName: string,
  ): Promise<{ success: true; packageName: string; permissions: AppPermission[] }> {
    const app = PACKAGE_NAME_PATTERN.test(packageName) ? await this.apps.findByPackageName(packageName) : null;
    if (!app) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    const permissions = app.permissions.map((p) =>
      p.description === undefined ? { type: p.type } : { type: p.type, description: p.description },
    );
    return { success: true, packageName: app.packageName, permissions };
  }
}
